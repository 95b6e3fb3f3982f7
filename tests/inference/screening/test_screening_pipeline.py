"""The screening pipeline end to end on a bundle of randomly initialised real architectures."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from pydicom.data import get_testdata_file
from screening_helpers import make_radiograph, spine_image, with_threshold

from inference.detection import DetectionOutcome
from inference.errors import BundleIntegrityError
from inference.imaging import load
from inference.imaging.types import ImagingWarning
from inference.pipeline import ClassificationOutput, LoadedModels, classify_detections, load_models, screen
from inference.result import CAM_REGIONS, CLASSES, ENSEMBLE, LUMBAR_LEVELS, Detection, ScreeningResult


class _FixedDetector:
    """Stands in for the detector and returns a fixed outcome, so the MRI rule can be tested."""

    def __init__(self, detections: list[Detection]) -> None:
        self.outcome = DetectionOutcome(detections=tuple(detections), rejected=(), warnings=())

    def detect(self, image: np.ndarray) -> DetectionOutcome:
        return self.outcome


def _with_detections(models: LoadedModels, detections: list[Detection]) -> LoadedModels:
    return replace(models, detector=_FixedDetector(detections))  # type: ignore[arg-type]


def _model_states(models: LoadedModels) -> dict[str, torch.Tensor]:
    modules = {f"classifier.{c.spec.architecture}": c.model for c in models.classifiers}
    modules["detector"] = models.detector.model
    modules["detector_predictor"] = models.detector.inference_model
    states = {}
    for prefix, module in modules.items():
        for name, tensor in module.state_dict().items():
            states[f"{prefix}.{name}"] = tensor.detach().clone()
    return states


def test_untrained_detector_study_is_not_assessable(loaded_models: LoadedModels, tmp_path: Path) -> None:
    image, _ = spine_image()

    result = screen(make_radiograph(image), loaded_models, overlay_dir=tmp_path)

    assert result.status == "not_assessable"
    assert [r.code for r in result.not_assessable_reasons] == ["no_lumbar_levels"]
    assert result.findings == ()
    assert not result.mri_recommended
    assert result.overview_overlay == "overview.png"
    assert (tmp_path / "overview.png").is_file()
    assert "detection" in result.timings_ms


class _RefusingDetector:
    def detect(self, image: np.ndarray) -> DetectionOutcome:
        raise AssertionError("the detector ran on a study the header had already blocked")


def test_chest_radiograph_is_not_assessable(loaded_models: LoadedModels) -> None:
    radiograph = load(get_testdata_file("RG1_UNCI.dcm"))
    models = replace(loaded_models, detector=_RefusingDetector(), classifiers=())  # type: ignore[arg-type]

    result = screen(radiograph, models)

    assert result.status == "not_assessable"
    assert [r.code for r in result.not_assessable_reasons] == ["body_part_not_lumbar"]
    assert result.not_assessable_reasons[0].message_ja
    assert result.findings == ()
    assert not result.mri_recommended
    assert result.imaging["header"]["body_part_examined"] == "CHEST"


def test_blocking_imaging_warning_stops_screening(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    blocking = ImagingWarning("modality_not_projection", "CT is not a radiograph.", "CT は単純X線ではありません。", True)
    models = _with_detections(loaded_models, detections)

    result = screen(make_radiograph(image, warnings=(blocking,)), models)

    assert result.status == "not_assessable"
    assert [r.code for r in result.not_assessable_reasons] == ["modality_not_projection"]
    assert result.findings == ()


@pytest.fixture(scope="module")
def classified(loaded_models: LoadedModels, tmp_path_factory: pytest.TempPathFactory) -> tuple[ClassificationOutput, Path]:
    """Classify the five blocks of ``spine_image`` once, with overlays, for the tests that only read the output."""
    image, detections = spine_image()
    overlay_dir = tmp_path_factory.mktemp("overlays")
    return classify_detections(make_radiograph(image), detections, loaded_models, overlay_dir=overlay_dir), overlay_dir


def test_classify_detections_returns_ensemble_mean(classified: tuple[ClassificationOutput, Path]) -> None:
    output, _ = classified

    assert [f.level for f in output.findings] == list(LUMBAR_LEVELS)
    for finding in output.findings:
        assert set(finding.model_probabilities) == {"resnet50", "densenet161", "resnext50_32x4d"}
        for probabilities in finding.model_probabilities.values():
            assert sum(probabilities.values()) == pytest.approx(1.0)
        mean = {c: np.mean([p[c] for p in finding.model_probabilities.values()]) for c in CLASSES}
        for name in CLASSES:
            assert finding.ensemble_probabilities[name] == pytest.approx(mean[name])
        assert finding.predicted_class == max(mean, key=mean.__getitem__)
        for architecture, probabilities in finding.model_probabilities.items():
            assert finding.model_predicted_classes[architecture] == max(probabilities, key=probabilities.__getitem__)


def test_classify_detections_region_shares_sum_to_one(classified: tuple[ClassificationOutput, Path]) -> None:
    output, _ = classified

    for finding in output.findings:
        assert set(finding.cam_regions) == {"resnet50", "densenet161", "resnext50_32x4d", ENSEMBLE}
        for shares in finding.cam_regions.values():
            assert list(shares) == list(CAM_REGIONS)
            assert sum(shares.values()) == pytest.approx(1.0)


def test_classify_detections_batches_crops_once_per_model(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    batch_sizes: list[int] = []
    handles = [
        c.model.register_forward_pre_hook(lambda module, args: batch_sizes.append(args[0].shape[0]))
        for c in loaded_models.classifiers
    ]
    try:
        classify_detections(make_radiograph(image), detections, loaded_models)
    finally:
        for handle in handles:
            handle.remove()

    assert batch_sizes == [5, 5, 5]


def test_classify_detections_writes_overlays(classified: tuple[ClassificationOutput, Path]) -> None:
    output, tmp_path = classified

    for finding in output.findings:
        assert set(finding.overlays) == {"resnet50", "densenet161", "resnext50_32x4d", ENSEMBLE}
        for name in finding.overlays.values():
            assert (tmp_path / name).is_file()
        assert finding.crop_file is not None
        assert (tmp_path / finding.crop_file).is_file()
    assert set(output.full_image_cam_overlays) == {"resnet50", "densenet161", "resnext50_32x4d", ENSEMBLE}
    for name in output.full_image_cam_overlays.values():
        assert (tmp_path / name).is_file()


def test_low_threshold_recommends_mri(loaded_models: LoadedModels, tmp_path: Path) -> None:
    image, detections = spine_image()
    models = _with_detections(with_threshold(loaded_models, 1e-9), detections)

    result = screen(make_radiograph(image), models, overlay_dir=tmp_path)

    assert result.status == "mri_recommended"
    assert result.mri_recommended
    assert result.not_assessable_reasons == ()
    assert len(result.findings) == 5
    assert result.bundle.fresh_threshold == 1e-9
    assert (tmp_path / "overview.png").is_file()
    assert result.warnings[0].code == "demo_bundle"


def test_unreachable_threshold_finds_no_fresh_fracture(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    models = _with_detections(with_threshold(loaded_models, 1.0), detections)

    result = screen(make_radiograph(image), models)

    assert result.status == "no_fresh_fracture_found"
    assert not result.mri_recommended
    assert len(result.findings) == 5


def test_missing_level_is_not_assessable(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    models = _with_detections(with_threshold(loaded_models, 1e-9), detections[:4])

    result = screen(make_radiograph(image), models)

    assert result.status == "not_assessable"
    assert [r.code for r in result.not_assessable_reasons] == ["levels_missing"]
    assert "L5" in result.not_assessable_reasons[0].message_en
    assert [f.level for f in result.findings] == ["L1", "L2", "L3", "L4"]
    assert "fresh_fracture_suspected" in [w.code for w in result.warnings]


def test_missing_level_without_fresh_fracture_is_not_normal(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    models = _with_detections(with_threshold(loaded_models, 1.0), detections[1:])

    result = screen(make_radiograph(image), models)

    assert result.status == "not_assessable"
    assert "fresh_fracture_suspected" not in [w.code for w in result.warnings]


def test_screening_never_changes_model_state(loaded_models: LoadedModels, tmp_path: Path) -> None:
    image, detections = spine_image()
    before = _model_states(loaded_models)

    screen(make_radiograph(image), loaded_models, overlay_dir=tmp_path)
    classify_detections(make_radiograph(image), detections, loaded_models, overlay_dir=tmp_path)
    after = _model_states(loaded_models)

    assert before.keys() == after.keys()
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed == []
    assert all(not c.model.training for c in loaded_models.classifiers)


def test_result_round_trips_through_json(loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    models = _with_detections(with_threshold(loaded_models, 0.5), detections)
    result = screen(make_radiograph(image), models)

    restored = ScreeningResult.from_dict(json.loads(result.to_json()))

    assert restored == result
    assert result.cam_region_geometry["anterior_side"] == "left"


def test_load_models_rejects_tampered_weights(screening_bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    copy.mkdir()
    for source in screening_bundle.iterdir():
        if source.name == "resnext50_32x4d.pt":
            data = bytearray(source.read_bytes())
            data[len(data) // 2] ^= 0xFF
            (copy / source.name).write_bytes(bytes(data))
        elif source.name == "manifest.json":
            shutil.copy(source, copy / source.name)
        else:
            (copy / source.name).symlink_to(source)

    with pytest.raises(BundleIntegrityError, match="resnext50_32x4d.pt"):
        load_models(copy)


def test_load_models_rejects_unknown_device(screening_bundle: Path) -> None:
    with pytest.raises(ValueError, match="tpu"):
        load_models(screening_bundle, device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_load_models_rejects_cuda_without_gpu(screening_bundle: Path) -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        load_models(screening_bundle, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_screening_on_cuda_matches_cpu(screening_bundle: Path, loaded_models: LoadedModels) -> None:
    image, detections = spine_image()
    cuda_models = load_models(screening_bundle, device="cuda")

    on_cuda = classify_detections(make_radiograph(image), detections, cuda_models)
    on_cpu = classify_detections(make_radiograph(image), detections, loaded_models)

    assert cuda_models.device == "cuda:0"
    assert next(cuda_models.classifiers[0].model.parameters()).is_cuda
    for gpu_finding, cpu_finding in zip(on_cuda.findings, on_cpu.findings, strict=True):
        for name in CLASSES:
            assert gpu_finding.ensemble_probabilities[name] == pytest.approx(
                cpu_finding.ensemble_probabilities[name], abs=1e-3
            )
