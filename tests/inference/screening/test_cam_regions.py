"""Grad-CAM mass shares in the regions of the vertebral body."""

from __future__ import annotations

import numpy as np
import pytest

from inference.regions import outside_area_fraction, region_masks, region_shares, region_warnings
from inference.result import CAM_REGIONS, Box

BOX = Box(10.0, 10.0, 50.0, 50.0)  # 40 x 40 body in a 60 x 60 crop


def test_region_masks_partition_the_crop() -> None:
    masks = region_masks(60, BOX)

    assert list(masks) == list(CAM_REGIONS)
    coverage = np.sum([mask.astype(int) for mask in masks.values()], axis=0)
    np.testing.assert_array_equal(coverage, 1)


def test_region_masks_follow_documented_geometry() -> None:
    masks = region_masks(60, BOX)

    assert masks["anterior_wall"][30, 10:18].all()  # left 20 % of the width
    assert not masks["anterior_wall"][30, 18]
    assert masks["posterior_wall"][30, 42:50].all()
    assert masks["anterior_wall"][10, 10]  # the walls keep the corners
    assert masks["superior_endplate"][10:18, 30].all()
    assert masks["inferior_endplate"][42:50, 30].all()
    assert masks["centre"][30, 30]
    assert masks["outside"][5, 5]
    assert masks["outside"][30, 55]


def test_uniform_map_shares_equal_area() -> None:
    shares = region_shares(np.ones((60, 60)), BOX)

    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["outside"] == pytest.approx((3600 - 1600) / 3600)
    assert shares["anterior_wall"] == pytest.approx(8 * 40 / 3600)
    assert shares["superior_endplate"] == pytest.approx(24 * 8 / 3600)
    assert shares["centre"] == pytest.approx(24 * 24 / 3600)


def test_right_facing_patient_swaps_walls() -> None:
    cam = np.zeros((60, 60))
    cam[20:40, 10:14] = 1.0  # mass on the left wall only

    left = region_shares(cam, BOX, anterior_side="left")
    right = region_shares(cam, BOX, anterior_side="right")

    assert left["anterior_wall"] == pytest.approx(1.0)
    assert right["posterior_wall"] == pytest.approx(1.0)


def test_empty_map_has_zero_shares_and_warning() -> None:
    shares = region_shares(np.zeros((60, 60)), BOX)

    assert set(shares.values()) == {0.0}
    assert [w.code for w in region_warnings(shares, source="L1")] == ["cam_empty"]


def test_map_outside_body_gets_warning() -> None:
    cam = np.zeros((60, 60))
    cam[:5, :] = 1.0
    cam[30, 30] = 1.0

    shares = region_shares(cam, BOX)
    warnings = region_warnings(shares, source="L2 (ensemble)")

    assert shares["outside"] > 0.9
    assert [w.code for w in warnings] == ["cam_mostly_outside"]
    assert "L2 (ensemble)" in warnings[0].message_en
    assert warnings[0].message_ja


def test_flat_map_over_wide_margin_has_no_warning() -> None:
    small_box = Box(15.0, 20.0, 45.0, 40.0)  # 30 x 20 body: two thirds of the crop is margin
    shares = region_shares(np.ones((60, 60)), small_box)

    assert shares["outside"] > 0.5
    assert region_warnings(shares, source="L4", outside_area=outside_area_fraction(60, small_box)) == ()


def test_map_favouring_margin_gets_warning_with_area() -> None:
    cam = np.zeros((60, 60))
    cam[:5, :] = 1.0
    cam[30, 30] = 1.0
    shares = region_shares(cam, BOX)

    warnings = region_warnings(shares, source="L2", outside_area=outside_area_fraction(60, BOX))

    assert [w.code for w in warnings] == ["cam_mostly_outside"]


def test_map_on_body_has_no_warning() -> None:
    cam = np.zeros((60, 60))
    cam[20:40, 20:40] = 1.0

    assert region_warnings(region_shares(cam, BOX), source="L3") == ()


@pytest.mark.parametrize("cam", [np.ones((60, 40)), -np.ones((60, 60)), np.ones(60)])
def test_region_shares_rejects_invalid_map(cam: np.ndarray) -> None:
    with pytest.raises(ValueError):
        region_shares(cam, BOX)


def test_warning_names_map_in_japanese() -> None:
    shares = region_shares(np.zeros((60, 60)), BOX)

    warning = region_warnings(shares, source="L2 (ensemble)", source_ja="L2（アンサンブル）")[0]

    assert "L2（アンサンブル）" in warning.message_ja
    assert "L2 (ensemble)" in warning.message_en
