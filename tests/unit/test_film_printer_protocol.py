"""The film printer's pure parts: status table, Printer Status Info, datasets, the SCU sequence
(with a scripted association instead of the network) and the relay's mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from appliance.printing.film import FilmBoxSpec, FilmSessionSpec, ImageBoxSpec, LutSpec
from appliance.printing.film_relay import (
    OFFLINE,
    QUEUED,
    Failed,
    RetryLater,
    film_to_print,
    result_for_error,
    session_dataset,
)
from drivers.film_printer import protocol as p
from drivers.film_printer.driver import FilmPrinter, FilmToPrint
from drivers.film_printer.errors import (
    FilmPrinterFailure,
    FilmPrinterUnreachable,
    PrintRefused,
)
from drivers.film_printer.simulator import box_count
from drivers.film_printer.transport import FilmPrinterTarget, Reply

# -- status codes and Printer Status Info -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "category", "transient"),
    [
        (0x0000, p.StatusCategory.SUCCESS, False),
        (0xB605, p.StatusCategory.WARNING, False),
        (0xB6FF, p.StatusCategory.WARNING, False),  # unknown warning, by range
        (0x0001, p.StatusCategory.WARNING, False),
        (0xC600, p.StatusCategory.FAILURE, False),
        (0xC601, p.StatusCategory.FAILURE, True),
        (0xC602, p.StatusCategory.FAILURE, True),
        (0xC603, p.StatusCategory.FAILURE, False),
        (0xC605, p.StatusCategory.FAILURE, True),
        (0x0106, p.StatusCategory.FAILURE, False),
        (0x0213, p.StatusCategory.FAILURE, True),
        (0xA700, p.StatusCategory.FAILURE, False),  # unknown, by range
    ],
)
def test_status_meaning(code: int, category: p.StatusCategory, transient: bool) -> None:
    meaning = p.status_meaning(code)
    assert meaning.category is category
    assert meaning.transient is transient
    assert meaning.meaning


def test_status_meaning_words() -> None:
    assert "queue is full" in p.status_meaning(0xC601).meaning
    assert "density" in p.status_meaning(0xB605).meaning
    assert "larger than its image box" in p.status_meaning(0xC603).meaning


@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("SUPPLY EMPTY", "the film supply is empty"),
        ("supply low", "the film supply is low"),
        ("NO SUPPLY MGZ", "the film supply magazine is missing"),
        ("EMPTY 14X17", "no 14X17 film left"),
        ("EMPTY 8X10 BLUE", "no 8X10 blue film left"),
        ("LOW 10X12 PAPR", "10X12 paper is running low"),
        ("VENDOR THING", "a printer-specific condition"),
        ("", "no reason given"),
    ],
)
def test_describe_status_info(term: str, words: str) -> None:
    assert p.describe_status_info(term) == words


@pytest.mark.parametrize(
    ("term", "out"),
    [
        ("SUPPLY EMPTY", True),
        ("EMPTY 14X17", True),
        ("REQ MED NOT AVAI", True),
        ("COVER OPEN\\NO SUPPLY MGZ", True),
        ("SUPPLY LOW", False),
        ("PRINTER DOWN", False),
        ("FILM JAM", False),
    ],
)
def test_is_out_of_film(term: str, out: bool) -> None:
    assert p.is_out_of_film(term) is out


def test_parse_printer_answer() -> None:
    answer = Dataset()
    answer.PrinterStatus = "WARNING"
    answer.PrinterStatusInfo = ["SUPPLY LOW", "CHEMICALS LOW"]
    answer.PrinterName = "Dryview"
    answer.Manufacturer = "Acme"
    answer.ManufacturerModelName = "8900"
    state = p.parse_printer(answer)
    assert state.status is p.PrinterStatus.WARNING
    assert state.info == "SUPPLY LOW\\CHEMICALS LOW"
    assert (state.name, state.manufacturer, state.model) == ("Dryview", "Acme", "8900")


def test_parse_printer_defaults_and_nonsense() -> None:
    assert p.parse_printer(Dataset()).status is p.PrinterStatus.FAILURE  # nothing said
    assert p.parse_printer(Dataset()).info == "UNKNOWN"
    normal = Dataset()
    normal.PrinterStatus = "NORMAL"
    assert p.parse_printer(normal).info == "NORMAL"
    odd = Dataset()
    odd.PrinterStatus = "BUSY"
    assert p.parse_printer(odd).status is p.PrinterStatus.FAILURE


def test_printer_dataset_round_trip() -> None:
    state = p.PrinterState(p.PrinterStatus.FAILURE, "SUPPLY EMPTY", "Sim", "Kiln", "S1", "7", "1")
    assert p.parse_printer(p.printer_dataset(state)) == state


# -- datasets ------------------------------------------------------------------------------------


def test_grayscale_8_bit_item() -> None:
    pixels = np.arange(15, dtype=np.uint8).reshape(3, 5)
    item = p.grayscale_image_item(pixels, 8, (1, 1))
    assert (item.BitsAllocated, item.BitsStored, item.HighBit) == (8, 8, 7)
    assert item.PixelRepresentation == 0
    assert item.PhotometricInterpretation == "MONOCHROME2"
    assert (item.Rows, item.Columns, item.SamplesPerPixel) == (3, 5, 1)
    assert len(item.PixelData) == 16  # padded to even
    assert list(item.PixelAspectRatio) == ["1", "1"]
    assert np.array_equal(p.image_pixels(item), pixels)


def test_grayscale_12_bit_item() -> None:
    pixels = np.array([[0, 4095], [1234, 2048]], dtype=np.uint16)
    item = p.grayscale_image_item(pixels, 12)
    assert (item.BitsAllocated, item.BitsStored, item.HighBit) == (16, 12, 11)
    assert item["PixelData"].VR == "OW"
    assert item.PixelData[:4] == b"\x00\x00\xff\x0f"  # little endian
    assert np.array_equal(p.image_pixels(item), pixels)


@pytest.mark.parametrize(
    ("pixels", "bits"),
    [
        (np.full((2, 2), 4096, dtype=np.uint16), 12),
        (np.full((2, 2), 256, dtype=np.uint16), 8),
        (np.zeros((2, 2, 3), dtype=np.uint8), 8),
        (np.zeros((2, 2), dtype=np.uint8), 10),
    ],
)
def test_grayscale_refuses_what_it_cannot_encode(pixels: np.ndarray, bits: int) -> None:
    with pytest.raises(ValueError, match=r"bits|pixel|grayscale"):
        p.grayscale_image_item(pixels, bits)


def test_color_item_is_planar_configuration_1() -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 10, 20, 30
    item = p.color_image_item(pixels)
    assert item.PlanarConfiguration == 1
    assert (item.SamplesPerPixel, item.PhotometricInterpretation) == (3, "RGB")
    assert (item.BitsAllocated, item.BitsStored, item.HighBit) == (8, 8, 7)
    assert item.PixelData == bytes([10] * 6 + [20] * 6 + [30] * 6)  # R plane, G, B
    assert np.array_equal(p.image_pixels(item), pixels)


def test_image_box_attributes() -> None:
    item = p.grayscale_image_item(np.zeros((2, 2), dtype=np.uint8), 8)
    box = p.image_box_attributes(3, item, polarity="REVERSE", requested_image_size=120.5)
    assert (box.ImageBoxPosition, box.Polarity, float(box.RequestedImageSize)) == (
        3,
        "REVERSE",
        120.5,
    )
    assert "MagnificationType" not in box  # empty: the film box's
    assert box.BasicGrayscaleImageSequence[0] is item
    color = p.image_box_attributes(
        1, p.color_image_item(np.zeros((1, 1, 3), np.uint8)), color=True, polarity="REVERSE"
    )
    assert "Polarity" not in color and "BasicColorImageSequence" in color


def test_presentation_lut() -> None:
    assert p.presentation_lut_attributes(shape="LIN OD").PresentationLUTShape == "LIN OD"
    table = p.presentation_lut_attributes(
        descriptor=(4, 0, 12), data=(0, 100, 200, 4095), explanation="test"
    )
    item = table.PresentationLUTSequence[0]
    assert list(item.LUTDescriptor) == [4, 0, 12]
    assert list(item.LUTData) == [0, 100, 200, 4095]
    with pytest.raises(ValueError):
        p.presentation_lut_attributes()


def test_film_box_create_references() -> None:
    attributes = p.film_box_attributes(image_display_format="STANDARD\\2,2", min_density=20)
    created = p.film_box_create(attributes, "1.2.3", "1.2.4")
    assert created.ReferencedFilmSessionSequence[0].ReferencedSOPInstanceUID == "1.2.3"
    assert created.ReferencedFilmSessionSequence[0].ReferencedSOPClassUID == p.BASIC_FILM_SESSION
    assert created.ReferencedPresentationLUTSequence[0].ReferencedSOPInstanceUID == "1.2.4"
    assert "ReferencedPresentationLUTSequence" not in p.film_box_create(attributes, "1.2.3", None)
    assert "ReferencedFilmSessionSequence" not in attributes  # not changed


def test_referenced_image_boxes() -> None:
    answer = Dataset()
    items = []
    for n in (1, 2):
        item = Dataset()
        item.ReferencedSOPClassUID = p.BASIC_GRAYSCALE_IMAGE_BOX
        item.ReferencedSOPInstanceUID = f"1.2.{n}"
        items.append(item)
    answer.ReferencedImageBoxSequence = Sequence(items)
    assert p.referenced_image_boxes(answer) == [
        (p.BASIC_GRAYSCALE_IMAGE_BOX, "1.2.1"),
        (p.BASIC_GRAYSCALE_IMAGE_BOX, "1.2.2"),
    ]
    assert p.referenced_image_boxes(None) == []


@pytest.mark.parametrize(
    ("display_format", "count"),
    [
        ("STANDARD\\2,2", 4),
        ("STANDARD\\4,5", 20),
        ("ROW\\2,3", 5),
        ("COL\\1,2,1", 4),
        ("STANDARD\\0,2", 0),
        ("SLIDE", 0),
        ("STANDARD\\a,b", 0),
    ],
)
def test_box_count(display_format: str, count: int) -> None:
    assert box_count(display_format) == count


# -- the SCU sequence, scripted ------------------------------------------------------------------

TARGET = FilmPrinterTarget("127.0.0.1", 1, "PRINTER")


def _printer(status: str, info: str) -> Dataset:
    return p.printer_dataset(p.PrinterState(p.PrinterStatus(status), info))


def _film_box_answer(count: int) -> Dataset:
    answer = Dataset()
    answer.ReferencedImageBoxSequence = Sequence(
        [_ref(p.BASIC_GRAYSCALE_IMAGE_BOX, f"9.{n}") for n in range(1, count + 1)]
    )
    return answer


def _ref(class_uid: str, uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = uid
    return item


@dataclass
class Scripted:
    """A PrintAssociation stand-in: answers from a script, records every request."""

    printer: list[Dataset]
    statuses: dict[str, int] = field(default_factory=dict)  # operation -> status
    accept_lut: bool = True
    sent: list[str] = field(default_factory=list)

    def __call__(self, target: FilmPrinterTarget) -> Scripted:
        return self

    def __enter__(self) -> Scripted:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.sent.append("release")

    def accepted(self, abstract_syntax: str) -> bool:
        return abstract_syntax != p.PRESENTATION_LUT or self.accept_lut

    def _answer(self, operation: str, dataset: Dataset | None = None, uid: str = "") -> Reply:
        self.sent.append(operation)
        return Reply(self.statuses.get(operation, 0), "said so", dataset, uid)

    def n_get(self, class_uid: str, instance_uid: str, meta_uid: str | None) -> Reply:
        assert (class_uid, instance_uid) == (p.PRINTER, p.PRINTER_INSTANCE)
        return self._answer(
            "Printer N-GET", self.printer.pop(0) if len(self.printer) > 1 else self.printer[0]
        )

    def n_create(self, dataset: Dataset | None, class_uid: str, meta_uid: str | None) -> Reply:
        if class_uid == p.BASIC_FILM_SESSION:
            return self._answer("Film Session N-CREATE", Dataset(), "1.1")
        if class_uid == p.PRESENTATION_LUT:
            return self._answer("Presentation LUT N-CREATE", Dataset(), "1.3")
        assert dataset is not None
        assert dataset.ReferencedFilmSessionSequence[0].ReferencedSOPInstanceUID == "1.1"
        count = box_count(str(dataset.ImageDisplayFormat))
        return self._answer("Film Box N-CREATE", _film_box_answer(count), "1.2")

    def n_set(
        self, dataset: Dataset, class_uid: str, instance_uid: str, meta_uid: str | None
    ) -> Reply:
        assert instance_uid == f"9.{dataset.ImageBoxPosition}"
        return self._answer(f"Image Box N-SET {dataset.ImageBoxPosition}")

    def n_action(
        self, action_type: int, class_uid: str, instance_uid: str, meta_uid: str | None
    ) -> Reply:
        assert (action_type, class_uid, instance_uid) == (1, p.BASIC_FILM_BOX, "1.2")
        return self._answer("Film Box N-ACTION", Dataset())

    def n_delete(self, class_uid: str, instance_uid: str, meta_uid: str | None) -> Reply:
        name = {
            p.BASIC_FILM_BOX: "Film Box",
            p.BASIC_FILM_SESSION: "Film Session",
            p.PRESENTATION_LUT: "Presentation LUT",
        }[class_uid]
        return self._answer(f"{name} N-DELETE")


def _film(positions: tuple[int, ...] = (1, 2), lut: bool = False) -> FilmToPrint:
    item = p.grayscale_image_item(np.zeros((2, 2), dtype=np.uint8), 8)
    return FilmToPrint(
        p.film_box_attributes(image_display_format="STANDARD\\1,2"),
        {n: p.image_box_attributes(n, item) for n in positions},
        p.presentation_lut_attributes(shape="IDENTITY") if lut else None,
    )


def test_the_scu_sequence() -> None:
    script = Scripted([_printer("NORMAL", "NORMAL")])
    outcome = FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
        p.film_session_attributes(), [_film(lut=True), _film(lut=True)]
    )
    assert outcome.films_printed == 2
    film = [
        "Film Box N-CREATE",
        "Image Box N-SET 1",
        "Image Box N-SET 2",
        "Film Box N-ACTION",
        "Film Box N-DELETE",
    ]
    assert script.sent == [
        "Printer N-GET",
        "Presentation LUT N-CREATE",  # once: both films use the same LUT
        "Film Session N-CREATE",
        *film,
        *film,
        "Film Session N-DELETE",
        "Presentation LUT N-DELETE",
        "release",
    ]


def test_a_failure_printer_is_not_printed_on() -> None:
    script = Scripted([_printer("FAILURE", "NO SUPPLY MGZ")])
    with pytest.raises(FilmPrinterFailure) as failure:
        FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
            p.film_session_attributes(), [_film()]
        )
    assert script.sent == ["Printer N-GET", "release"]
    assert failure.value.status_info == "NO SUPPLY MGZ"
    assert "NO SUPPLY MGZ" in failure.value.sentence
    assert "film supply magazine is missing" in failure.value.sentence


def test_warnings_are_collected_and_a_missing_lut_context_is_one() -> None:
    script = Scripted(
        [_printer("WARNING", "SUPPLY LOW")], {"Film Box N-CREATE": 0xB605}, accept_lut=False
    )
    outcome = FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
        p.film_session_attributes(), [_film(lut=True)]
    )
    assert "Presentation LUT N-CREATE" not in script.sent
    said = [str(w) for w in outcome.warnings]
    assert any("SUPPLY LOW" in w for w in said)
    assert any("0xB605" in w and "density" in w for w in said)
    assert any("Presentation LUT" in w for w in said)


def test_a_refusal_names_the_operation_and_cleans_up() -> None:
    script = Scripted([_printer("NORMAL", "NORMAL")], {"Film Box N-CREATE": 0x0106})
    with pytest.raises(PrintRefused) as refused:
        FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
            p.film_session_attributes(), [_film()]
        )
    assert refused.value.operation == "Film Box N-CREATE"
    assert refused.value.status == 0x0106
    assert refused.value.comment == "said so"
    assert not refused.value.transient
    assert script.sent[-3:] == ["Film Session N-DELETE", "Printer N-GET", "release"]
    assert "0x0106" in refused.value.sentence and "marked failed" in refused.value.sentence


def test_a_refusal_while_the_printer_fails_is_the_failure() -> None:
    script = Scripted(
        [_printer("NORMAL", "NORMAL"), _printer("FAILURE", "SUPPLY EMPTY")],
        {"Film Box N-ACTION": 0x0110},
    )
    with pytest.raises(FilmPrinterFailure) as failure:
        FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
            p.film_session_attributes(), [_film()]
        )
    assert failure.value.status_info == "SUPPLY EMPTY"
    assert failure.value.films_printed == 0


def test_a_position_the_film_box_does_not_have() -> None:
    script = Scripted([_printer("NORMAL", "NORMAL")])
    with pytest.raises(PrintRefused, match="position 3"):
        FilmPrinter(TARGET, connect=script).print_session(  # type: ignore[arg-type]
            p.film_session_attributes(), [_film(positions=(1, 3))]
        )


# -- the relay's mapping ------------------------------------------------------------------------


def test_session_dataset() -> None:
    session = FilmSessionSpec(
        number_of_copies=2,
        print_priority="HIGH",
        medium_type="BLUE FILM",
        film_destination="PROCESSOR",
        film_session_label="MR",
    )
    ds = session_dataset(session)
    assert (ds.NumberOfCopies, ds.PrintPriority, ds.MediumType) == (2, "HIGH", "BLUE FILM")
    assert (ds.FilmDestination, ds.FilmSessionLabel) == ("PROCESSOR", "MR")
    assert session_dataset(session, copies=3).NumberOfCopies == 3
    assert "MemoryAllocation" not in ds


def test_film_to_print() -> None:
    box = ImageBoxSpec(
        position=2,
        pixels=np.full((4, 4), 4000, np.uint16),
        bits_stored=12,
        polarity="REVERSE",
        requested_image_size=100.0,
    )
    film = FilmBoxSpec(
        "STANDARD\\1,2",
        film_size_id="8INX10IN",
        min_density=10,
        max_density=250,
        illumination=2000,
        reflected_ambient_light=10,
        image_boxes=(box,),
    )
    plain = film_to_print(film)
    assert "Illumination" not in plain.film_box  # only with a Presentation LUT
    assert plain.presentation_lut is None
    assert (plain.film_box.FilmSizeID, plain.film_box.MinDensity, plain.film_box.MaxDensity) == (
        "8INX10IN",
        10,
        250,
    )
    image = plain.image_boxes[2]
    assert (image.ImageBoxPosition, image.Polarity) == (2, "REVERSE")
    assert image.BasicGrayscaleImageSequence[0].BitsStored == 12
    with_lut = film_to_print(
        FilmBoxSpec(
            "STANDARD\\1,1",
            illumination=2000,
            reflected_ambient_light=10,
            presentation_lut=LutSpec(shape="LIN OD"),
        )
    )
    assert (with_lut.film_box.Illumination, with_lut.film_box.ReflectedAmbientLight) == (2000, 10)
    assert with_lut.presentation_lut is not None
    assert with_lut.presentation_lut.PresentationLUTShape == "LIN OD"


def test_result_for_error() -> None:
    lost = FilmPrinterUnreachable("refused", printer="P@h:1")
    lost.films_printed = 1
    assert result_for_error(lost, 2) == RetryLater(OFFLINE, lost.sentence, 3)
    out = FilmPrinterFailure(
        "x",
        printer="P@h:1",
        status_info="SUPPLY EMPTY",
        description="the film supply is empty",
        films_printed=1,
    )
    result = result_for_error(out)
    assert isinstance(result, RetryLater) and result.status_info == "SUPPLY EMPTY"
    assert result.films_done == 1
    full = PrintRefused(
        "x",
        printer="P@h:1",
        operation="Film Box N-ACTION",
        status=0xC601,
        meaning="queue full",
        transient=True,
    )
    assert isinstance(result_for_error(full), RetryLater)
    assert result_for_error(full).status_info == QUEUED  # type: ignore[union-attr]
    size = PrintRefused(
        "x",
        printer="P@h:1",
        operation="Film Box N-CREATE",
        status=0x0106,
        meaning="invalid attribute value",
    )
    assert result_for_error(size) == Failed(size.sentence)
