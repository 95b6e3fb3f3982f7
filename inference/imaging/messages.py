"""English and Japanese texts of every imaging error and warning.

Each function builds one typed error or warning. Every message states what
is wrong with the file and what the user should do next. Technical detail for logs goes to
``detail`` and is never the only explanation.
"""

from __future__ import annotations

from inference.errors import DamagedImageError, ImageTooLargeError, NotAnImageError, UnsupportedImageError
from inference.imaging.types import ImagingWarning

_EXPORT_AGAIN_EN = "Export the radiograph again from the PACS or the imaging device and upload the new file."
_EXPORT_AGAIN_JA = (
    "PACS または撮影装置から X 線画像を書き出し直し、新しいファイルをアップロードしてください。"
)

# Names of recognised file kinds that this product does not read as radiographs, in (en, ja).
FILE_KIND_NAMES: dict[str, tuple[str, str]] = {
    "html": ("an HTML web page", "HTML のウェブページ"),
    "xml": ("an XML document", "XML 文書"),
    "pdf": ("a PDF document", "PDF 文書"),
    "zip": ("a ZIP archive", "ZIP アーカイブ"),
    "gzip": ("a gzip archive", "gzip アーカイブ"),
    "rar": ("a RAR archive", "RAR アーカイブ"),
    "7z": ("a 7-Zip archive", "7-Zip アーカイブ"),
    "ole": ("a Microsoft Office document", "Microsoft Office 文書"),
    "text": ("a text file", "テキストファイル"),
    "unknown": ("of an unknown kind", "種類が不明なファイル"),
    "tiff": ("a TIFF image", "TIFF 画像"),
    "bmp": ("a BMP image", "BMP 画像"),
    "gif": ("a GIF image", "GIF 画像"),
    "webp": ("a WebP image", "WebP 画像"),
    "jpeg2000": ("a JPEG 2000 image file", "JPEG 2000 画像ファイル"),
    "heic": ("a HEIF or AVIF image", "HEIF または AVIF 画像"),
}


def _spaced_ja(words: str) -> str:
    """Add the space that Japanese text puts between itself and an adjoining Latin word or number."""
    leading = " " if words[:1].isascii() else ""
    trailing = " " if words[-1:].isascii() else ""
    return f"{leading}{words}{trailing}"


# ---------------------------------------------------------------- not an image


def empty_file() -> NotAnImageError:
    return NotAnImageError(
        f"The file is empty (0 bytes). {_EXPORT_AGAIN_EN}",
        f"ファイルが空です（0 バイト）。{_EXPORT_AGAIN_JA}",
        detail="file size 0",
    )


def not_an_image(kind: str) -> NotAnImageError:
    name_en, name_ja = FILE_KIND_NAMES.get(kind, FILE_KIND_NAMES["unknown"])
    if kind == "unknown":
        text_en = "The file is not a DICOM, PNG or JPEG image."
        text_ja = "このファイルは DICOM、PNG、JPEG のいずれの画像でもありません。"
    else:
        text_en = f"The file is {name_en}, not a radiograph."
        text_ja = f"このファイルは{_spaced_ja(name_ja)}で、X 線画像ではありません。"
    return NotAnImageError(
        f"{text_en} Upload the radiograph as a DICOM file (preferred), PNG or JPEG.",
        f"{text_ja}X 線画像を DICOM ファイル（推奨）、PNG または JPEG でアップロードしてください。",
        detail=f"content looks like {kind}",
    )


def dicom_without_pixel_data(object_name: str) -> NotAnImageError:
    return NotAnImageError(
        f"The DICOM file is a {object_name} object and contains no pixel data. "
        "Upload the radiograph image itself, not a report or a presentation state.",
        f"この DICOM ファイルは {object_name} で、画素データを含みません。"
        "レポートや表示状態（プレゼンテーションステート）ではなく、X 線画像そのものをアップロードしてください。",
        detail=f"no (7FE0,0010) Pixel Data; object {object_name}",
    )


# ---------------------------------------------------------------------- damaged


def dicom_unreadable(reason: str) -> DamagedImageError:
    return DamagedImageError(
        f"The DICOM file is damaged and its header could not be read. {_EXPORT_AGAIN_EN}",
        f"DICOM ファイルが破損しており、ヘッダーを読み取れません。{_EXPORT_AGAIN_JA}",
        detail=reason,
    )


def truncated_file(file_type: str, reason: str) -> DamagedImageError:
    label = file_type.upper()
    return DamagedImageError(
        f"The {label} file is truncated: it ends before the image data is complete. {_EXPORT_AGAIN_EN}",
        f"{label} ファイルが途中で切れており、画像データが完全ではありません。{_EXPORT_AGAIN_JA}",
        detail=reason,
    )


def pixel_data_too_short(expected: int, actual: int) -> DamagedImageError:
    return DamagedImageError(
        f"The DICOM pixel data is shorter than the header declares ({actual:,} of {expected:,} bytes), "
        f"so the file is incomplete. {_EXPORT_AGAIN_EN}",
        f"DICOM の画素データがヘッダーの記載より短く（{expected:,} バイト中 {actual:,} バイト）、"
        f"ファイルが不完全です。{_EXPORT_AGAIN_JA}",
        detail=f"pixel data {actual} bytes, expected {expected}",
    )


def invalid_header_value(attribute: str, value: object, *, reason: str = "") -> DamagedImageError:
    """Build the error for a header value that makes the pixels unreadable.

    ``value`` is shown to the user as plain text, or left out when it is None.
    ``reason`` (for example a library's exception text) goes only to ``detail``.
    """
    detail = f"{attribute}={value!r}" + (f": {reason}" if reason else "")
    if value is None:
        return DamagedImageError(
            f"The DICOM header has a missing or invalid {attribute}, so the pixels cannot be read. "
            f"{_EXPORT_AGAIN_EN}",
            f"DICOM ヘッダーの {attribute} が欠落しているか不正なため、画素を読み取れません。{_EXPORT_AGAIN_JA}",
            detail=detail,
        )
    display_text = plain_value(value)
    return DamagedImageError(
        f"The DICOM header has an invalid {attribute} ({display_text}), so the pixels cannot be read. "
        f"{_EXPORT_AGAIN_EN}",
        f"DICOM ヘッダーの {attribute} が不正な値（{display_text}）のため、画素を読み取れません。{_EXPORT_AGAIN_JA}",
        detail=detail,
    )


def plain_value(value: object) -> str:
    """Format a header value for people: numbers without a trailing .0, sequences joined by commas."""
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value)


def frames_exceed_pixel_data(frame_count: int, available: int) -> DamagedImageError:
    return DamagedImageError(
        f"The DICOM header declares {frame_count:,} frames, but the pixel data contains at most "
        f"{available:,}, so the header or the file is damaged. {_EXPORT_AGAIN_EN}",
        f"DICOM ヘッダーのフレーム数は {frame_count:,} ですが、画素データには最大 {available:,} "
        f"フレーム分しかなく、ヘッダーまたはファイルが破損しています。{_EXPORT_AGAIN_JA}",
        detail=f"NumberOfFrames={frame_count}, pixel data holds {available}",
    )


def codestream_size_mismatch(
    encoding: str, width: int, height: int, columns: int, rows: int
) -> DamagedImageError:
    return DamagedImageError(
        f"The compressed image ({encoding}) is {width:,} x {height:,} pixels, but the DICOM header "
        f"declares {columns:,} x {rows:,}, so the file is damaged. {_EXPORT_AGAIN_EN}",
        f"圧縮画像（{encoding}）のサイズは {width:,} x {height:,} 画素ですが、DICOM ヘッダーでは "
        f"{columns:,} x {rows:,} 画素とされており、ファイルが破損しています。{_EXPORT_AGAIN_JA}",
        detail=f"codestream {width}x{height}, header Columns={columns} Rows={rows}",
    )


def non_finite_pixels(reason: str) -> DamagedImageError:
    return DamagedImageError(
        "The image values cannot be represented as numbers (for example because the header's "
        f"Rescale Slope or Intercept is far too large), so the image cannot be shown. {_EXPORT_AGAIN_EN}",
        "画像の値を数値として表せません（ヘッダーの Rescale Slope または Intercept が大きすぎる場合など）。"
        f"そのため画像を表示できません。{_EXPORT_AGAIN_JA}",
        detail=reason,
    )


def inflated_too_large(limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"The deflate-compressed DICOM file expands to more than {_format_bytes(limit)}, above the limit. "
        "Upload a single radiograph, not a whole study or archive.",
        f"Deflate 圧縮された DICOM ファイルを展開すると上限の {_format_bytes(limit)} を超えます。"
        "検査全体やアーカイブではなく、X 線画像 1 枚をアップロードしてください。",
        detail=f"inflated dataset above {limit} bytes",
    )


def decoding_failed(file_type: str, encoding: str, reason: str) -> DamagedImageError:
    return DamagedImageError(
        f"The {file_type.upper()} pixel data ({encoding}) could not be decoded; the file is probably "
        f"damaged. {_EXPORT_AGAIN_EN}",
        f"{file_type.upper()} の画素データ（{encoding}）を復号できません。ファイルが破損している可能性があります。"
        f"{_EXPORT_AGAIN_JA}",
        detail=reason,
    )


# ------------------------------------------------------------------ unsupported


def unsupported_file_kind(kind: str) -> UnsupportedImageError:
    name_en, name_ja = FILE_KIND_NAMES.get(kind, FILE_KIND_NAMES["unknown"])
    return UnsupportedImageError(
        f"The file is {name_en}, which this product does not read. "
        "Export the radiograph as DICOM (preferred), PNG or JPEG and upload it.",
        f"このファイルは{_spaced_ja(name_ja)}で、本製品では読み込めません。"
        "X 線画像を DICOM（推奨）、PNG または JPEG で書き出してアップロードしてください。",
        detail=f"content looks like {kind}",
    )


def multi_frame(frame_count: int, file_type: str = "dicom") -> UnsupportedImageError:
    label = "animated PNG" if file_type == "png" else file_type.upper()
    label_ja = "アニメーション PNG" if file_type == "png" else file_type.upper()
    return UnsupportedImageError(
        f"The {label} file contains {frame_count} frames, and this product screens one radiograph per file. "
        "Export the lateral lumbar frame on its own, as a single-frame file, from the PACS or the imaging device "
        "and upload that file.",
        f"この{_spaced_ja(label_ja)}ファイルには {frame_count} フレームが含まれていますが、本製品は 1 ファイルにつき 1 枚の"
        " X 線画像を判定します。PACS または撮影装置から腰椎側面像のフレームだけを単一フレームのファイルとして書き出し、"
        "そのファイルをアップロードしてください。",
        # The web upload offers no frame choice, so only the detail, which the command-line tools print,
        # names their --frame option.
        detail=f"{file_type} with {frame_count} frames, no frame requested "
        "(the command-line tools read one frame with --frame K, counted from 0)",
    )


def frame_out_of_range(frame: int, frame_count: int) -> UnsupportedImageError:
    return UnsupportedImageError(
        f"Frame {frame} was requested, but the file contains {frame_count} frame(s). "
        f"Choose a frame from 0 to {frame_count - 1}.",
        f"フレーム {frame} が指定されましたが、このファイルのフレーム数は {frame_count} です。"
        f"0 から {frame_count - 1} までのフレームを指定してください。",
        detail=f"frame={frame}, NumberOfFrames={frame_count}",
    )


def unknown_transfer_syntax(uid: str) -> UnsupportedImageError:
    return UnsupportedImageError(
        f"The DICOM file uses an unknown transfer syntax ({uid}). "
        "Export it again with an uncompressed or standard compressed transfer syntax "
        "(Explicit VR Little Endian is always accepted).",
        f"この DICOM ファイルは不明な転送構文（{uid}）を使用しています。"
        "非圧縮または標準の圧縮転送構文（Explicit VR Little Endian は常に受け付けます）で書き出し直してください。",
        detail=f"TransferSyntaxUID={uid}",
    )


def transfer_syntax_not_decodable(name: str, uid: str, reason: str) -> UnsupportedImageError:
    return UnsupportedImageError(
        f"The DICOM pixel data is encoded as {name}, which this installation cannot decode. "
        "Export it again as Explicit VR Little Endian (uncompressed) or JPEG 2000 lossless.",
        f"この DICOM の画素データは {name} で符号化されており、この環境では復号できません。"
        "Explicit VR Little Endian（非圧縮）または JPEG 2000 可逆圧縮で書き出し直してください。",
        detail=f"TransferSyntaxUID={uid}: {reason}",
    )


def unsupported_pixel_format(description: str, description_ja: str | None = None) -> UnsupportedImageError:
    """Return the error for a pixel format; ``description_ja`` defaults to ``description`` (a DICOM or Pillow term)."""
    return UnsupportedImageError(
        f"The image has a pixel format that this product does not read ({description}). "
        "Export the radiograph as a grayscale DICOM or PNG image.",
        f"この画像の画素形式（{description_ja or description}）は本製品では読み込めません。"
        "X 線画像をグレースケールの DICOM または PNG 画像として書き出してください。",
        detail=description,
    )


def no_transfer_syntax_for_compressed_data() -> UnsupportedImageError:
    return UnsupportedImageError(
        "The DICOM file has compressed pixel data but no file meta information naming the compression. "
        "Export it again as a standard DICOM file (Part 10, with a 128-byte preamble).",
        "この DICOM ファイルは圧縮された画素データを含みますが、圧縮方式を示すファイルメタ情報がありません。"
        "標準の DICOM ファイル（Part 10、128 バイトのプリアンブル付き）として書き出し直してください。",
        detail="encapsulated pixel data without (0002,0010) Transfer Syntax UID",
    )


# -------------------------------------------------------------------- too large


def file_too_large(size: int, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"The file is {_format_bytes(size)}, above the limit of {_format_bytes(limit)}. "
        "Upload a single radiograph, not a whole study or archive.",
        f"ファイルサイズ（{_format_bytes(size)}）が上限の {_format_bytes(limit)} を超えています。"
        "検査全体やアーカイブではなく、X 線画像 1 枚をアップロードしてください。",
        detail=f"file size {size} bytes, limit {limit}",
    )


def _format_bytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / (1024 * 1024):,.1f} MiB"


def too_many_pixels(rows: int, columns: int, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"The image is {columns:,} x {rows:,} pixels ({rows * columns / 1e6:,.1f} megapixels), above the limit "
        f"of {limit / 1e6:,.1f} megapixels per frame. Export the radiograph at its original detector "
        "resolution and upload it.",
        f"画像サイズ（{columns:,} x {rows:,} 画素、{rows * columns / 1e6:,.1f} メガピクセル）が 1 フレームあたりの"
        f"上限 {limit / 1e6:,.1f} メガピクセルを超えています。X 線画像を検出器の元の解像度で書き出してアップロードしてください。",
        detail=f"rows={rows} columns={columns} limit={limit}",
    )


def decompression_bomb(reason: str) -> ImageTooLargeError:
    return ImageTooLargeError(
        "The image has more pixels than the image library accepts (decompression-bomb check). "
        "Export the radiograph at its original detector resolution and upload it.",
        "画像の画素数が画像ライブラリの上限（解凍爆弾対策の検査）を超えています。"
        "X 線画像を検出器の元の解像度で書き出してアップロードしてください。",
        detail=reason,
    )


# --------------------------------------------------------------------- warnings


def body_part_not_lumbar(body_part: str) -> ImagingWarning:
    return ImagingWarning(
        code="body_part_not_lumbar",
        message_en=f"The DICOM header names the body part {body_part}, not the lumbar spine. "
        "The image cannot be assessed; upload a lateral lumbar radiograph.",
        message_ja=f"DICOM ヘッダーの撮影部位は {body_part} で、腰椎ではありません。"
        "この画像は判定できません。腰椎側面の X 線画像をアップロードしてください。",
        blocks_assessment=True,
    )


def modality_not_projection(modality: str) -> ImagingWarning:
    return ImagingWarning(
        code="modality_not_projection",
        message_en=f"The DICOM header gives the modality {modality}, which is not a projection radiograph "
        "(CR or DX). The image cannot be assessed; upload a lateral lumbar radiograph.",
        message_ja=f"DICOM ヘッダーのモダリティは {modality} で、単純 X 線撮影（CR または DX）ではありません。"
        "この画像は判定できません。腰椎側面の X 線画像をアップロードしてください。",
        blocks_assessment=True,
    )


def view_not_lateral(view_position: str) -> ImagingWarning:
    return ImagingWarning(
        code="view_not_lateral",
        message_en=f"The DICOM header gives the view position {view_position}, but the screening expects a "
        "lateral view (LL or RL). Check that this is the lateral lumbar radiograph.",
        message_ja=f"DICOM ヘッダーの撮影方向は {view_position} ですが、判定には側面像（LL または RL）が必要です。"
        "腰椎側面の X 線画像であることを確認してください。",
    )


def uniform_image() -> ImagingWarning:
    return ImagingWarning(
        code="uniform_image",
        message_en="Every pixel of the image has the same value, so there is nothing to assess. "
        "Check the export settings and upload the radiograph again.",
        message_ja="画像のすべての画素が同じ値のため、判定できる内容がありません。"
        "書き出し設定を確認し、X 線画像を再度アップロードしてください。",
        blocks_assessment=True,
    )


def lossy_compression(method: str) -> ImagingWarning:
    return ImagingWarning(
        code="lossy_compression",
        message_en=f"The image was stored with lossy compression ({method}). Fine fracture signs may be "
        "degraded; prefer an uncompressed or losslessly compressed export.",
        message_ja=f"この画像は非可逆圧縮（{method}）で保存されています。微細な骨折所見が劣化している可能性があります。"
        "非圧縮または可逆圧縮での書き出しを推奨します。",
    )


def colour_converted(source: str) -> ImagingWarning:
    return ImagingWarning(
        code="colour_converted",
        message_en=f"The image was stored in colour ({source}) and was converted to grayscale "
        "(luma, ITU-R BT.601 weights). Annotations burnt into the image may remain visible.",
        message_ja=f"この画像はカラー（{source}）で保存されていたため、グレースケールに変換しました"
        "（輝度、ITU-R BT.601 の重み）。画像に焼き込まれた注釈が残っている可能性があります。",
    )


def alpha_flattened() -> ImagingWarning:
    return ImagingWarning(
        code="alpha_flattened",
        message_en="The image has transparent pixels; they were composited over black.",
        message_ja="この画像には透明な画素があり、黒の背景に合成しました。",
    )


def secondary_capture() -> ImagingWarning:
    return ImagingWarning(
        code="secondary_capture",
        message_en="The DICOM file is a Secondary Capture, an image derived from another image "
        "(for example a screenshot or a scanned film), not the original radiograph.",
        message_ja="この DICOM ファイルは二次キャプチャ（スクリーンショットやフィルムのスキャンなど、"
        "別の画像から作られた画像）で、元の X 線画像ではありません。",
    )


def no_dicom_header(file_type: str) -> ImagingWarning:
    return ImagingWarning(
        code="no_dicom_header",
        message_en=f"The file is a {file_type.upper()} image without a DICOM header, so the patient, "
        "body part, modality and pixel spacing are not known from the file.",
        message_ja=f"このファイルは DICOM ヘッダーのない {file_type.upper()} 画像のため、患者、撮影部位、"
        "モダリティ、画素間隔はファイルから分かりません。",
    )


def spacing_unknown() -> ImagingWarning:
    return ImagingWarning(
        code="spacing_unknown",
        message_en="The pixel spacing is unknown, so no distance or size is given in millimetres.",
        message_ja="画素間隔が不明のため、距離や大きさをミリメートルで表示しません。",
    )


def spacing_at_detector() -> ImagingWarning:
    return ImagingWarning(
        code="spacing_at_detector",
        message_en="The pixel spacing is measured at the detector (Imager Pixel Spacing) and is not "
        "corrected for geometric magnification, so sizes in millimetres are slightly too large.",
        message_ja="画素間隔は検出器面での値（Imager Pixel Spacing）で、幾何学的拡大率の補正がないため、"
        "ミリメートル表示の大きさはやや大きめになります。",
    )


def spacing_malformed(attribute: str, raw_value: str) -> ImagingWarning:
    return ImagingWarning(
        code="spacing_malformed",
        message_en=f'The header value {attribute} is invalid ("{raw_value}") and was ignored.',
        message_ja=f"ヘッダーの {attribute} の値が不正（「{raw_value}」）のため、使用しませんでした。",
    )


def window_invalid(raw_center: str, raw_width: str) -> ImagingWarning:
    return ImagingWarning(
        code="window_invalid",
        message_en=f'The header window (center "{raw_center}", width "{raw_width}") is invalid, so the '
        "display window was computed from the pixel values instead.",
        message_ja=f"ヘッダーのウィンドウ（センター「{raw_center}」、幅「{raw_width}」）が不正なため、"
        "画素値から表示ウィンドウを求めました。",
    )


def pixel_values_clipped(count: int, bits_stored: int, signed: bool) -> ImagingWarning:
    kind_en = "signed" if signed else "unsigned"
    kind_ja = "符号付き" if signed else "符号なし"
    return ImagingWarning(
        code="pixel_values_clipped",
        message_en=f"{count:,} pixel values lay outside the {bits_stored}-bit {kind_en} range that the "
        "header declares (Bits Stored) and were clipped to it. The export may be faulty.",
        message_ja=f"{count:,} 個の画素値がヘッダーで宣言された {bits_stored} ビット{kind_ja}の範囲（Bits Stored）"
        "の外にあったため、範囲内に切り詰めました。書き出しに問題がある可能性があります。",
    )
