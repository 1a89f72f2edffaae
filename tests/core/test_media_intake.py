"""Media intake in the core: what is stored from an upload, and what is refused without a trace."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from smallfedi.core import media, posting
from smallfedi.core.errors import DomainError, Invalid
from smallfedi.core.media import Upload
from tests import media_samples as samples
from tests.conftest import running_instance

pytestmark = pytest.mark.anyio


def _files(inst) -> set[str]:
    return {p.name for p in inst.config.media_dir.iterdir()}


async def test_a_phone_photo_is_stored_upright_small_and_without_metadata(tmp_path):
    async with running_instance(tmp_path, extra="\n[media]\nmax_image_side = 1000\n") as client:
        inst = client.app.state.instance
        m = await media.upload(inst, Upload(io.BytesIO(samples.jpeg(1600, 1200, orientation=6)), "A red wall"))
        stored = (inst.config.media_dir / m.file).read_bytes()
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG"
        assert image.size == (750, 1000)  # turned upright (portrait) and fitted to the setting
        assert (m.width, m.height) == image.size
        assert len(image.getexif()) == 0 and "exif" not in image.info
        assert b"PhoneMaker" not in stored and b"GPS" not in stored
        # The dark half was on the left; after the 90° turn it is at the top.
        assert image.getpixel((375, 100))[0] < 60 and image.getpixel((375, 900))[0] > 150
        preview = Image.open(io.BytesIO((inst.config.media_dir / m.preview_file).read_bytes()))
        assert preview.width * preview.height <= 230_400 and "exif" not in preview.info
        assert m.blurhash and 6 <= len(m.blurhash) <= 100
        assert m.description == "A red wall" and m.type == "image" and m.mime == "image/jpeg"
        assert media.meta(m)["original"]["aspect"] == pytest.approx(0.75)


async def test_the_same_picture_twice_is_one_file(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        first = await media.upload(inst, Upload(io.BytesIO(samples.png())))
        second = await media.upload(inst, Upload(io.BytesIO(samples.png())))
        assert first.id != second.id and first.file == second.file


async def test_animated_gif_stays_animated_without_its_comment(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        m = await media.upload(inst, Upload(io.BytesIO(samples.gif_animated(frames=3))))
        data = (inst.config.media_dir / m.file).read_bytes()
        assert Image.open(io.BytesIO(data)).n_frames == 3 and m.mime == "image/gif"
        assert b"secret camera" not in data


async def test_video_is_stored_as_it_came_and_typed_by_its_bytes(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        m = await media.upload(inst, Upload(io.BytesIO(samples.mp4_header())))
        assert (m.type, m.mime) == ("video", "video/mp4") and m.file.endswith(".mp4")
        assert (inst.config.media_dir / m.file).read_bytes() == samples.mp4_header()


@pytest.mark.parametrize("data, status, words", [
    (samples.bomb_png(), 422, "too large to process"),
    (samples.truncated_jpeg(), 422, "damaged or incomplete"),
    (samples.html_pretending_to_be_jpeg(), 422, "not an image, video or audio"),
    (b"", 422, "empty"),
    (samples.jpeg(100, 100) + b"\0" * 300_000, 413, "the limit for image is 256 KiB"),
], ids=["bomb", "truncated", "lying", "empty", "oversized"])
async def test_bad_files_are_refused_and_leave_nothing(tmp_path, data, status, words):
    async with running_instance(tmp_path, extra="\n[media]\nmax_image_bytes = 262144\n") as client:
        inst = client.app.state.instance
        before_files = _files(inst)
        with pytest.raises(DomainError) as caught:
            await media.upload(inst, Upload(io.BytesIO(data)))
        assert caught.value.status == status and words in caught.value.message
        assert _files(inst) == before_files
        assert await inst.db.fetchval("SELECT count(*) FROM media") == 0


async def test_attachments_go_on_a_post_once_and_at_most_four(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        ids = [(await media.upload(inst, Upload(io.BytesIO(samples.png(10 + i, 10))))).id for i in range(5)]
        with pytest.raises(Invalid, match="at most 4"):
            await posting.publish(inst, posting.Draft("five", media_ids=tuple(ids)))
        status = await posting.publish(inst, posting.Draft("", media_ids=(ids[1], ids[0])))  # no text: fine
        attached = (await media.for_statuses(inst, [status.id]))[status.id]
        assert [m.id for m in attached] == [ids[1], ids[0]]
        with pytest.raises(Invalid, match="another post"):
            await posting.publish(inst, posting.Draft("again", media_ids=(ids[0],)))
        edited = await posting.edit(inst, status.id, posting.Draft("now with text", media_ids=(ids[2],)))
        assert [m.id for m in (await media.for_statuses(inst, [edited.id]))[edited.id]] == [ids[2]]
        kept = await posting.edit(inst, status.id, posting.Draft("text only changes"))  # media_ids None: kept
        assert [m.id for m in (await media.for_statuses(inst, [kept.id]))[kept.id]] == [ids[2]]


async def test_a_video_does_not_share_a_post(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        video = await media.upload(inst, Upload(io.BytesIO(samples.mp4_header())))
        image = await media.upload(inst, Upload(io.BytesIO(samples.png())))
        with pytest.raises(Invalid, match="video or audio"):
            await posting.publish(inst, posting.Draft("mixed", media_ids=(video.id, image.id)))


async def test_description_and_focus_are_checked(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        m = await media.upload(inst, Upload(io.BytesIO(samples.png()), focus="0.5,-0.25"))
        assert (m.focus_x, m.focus_y) == (0.5, -0.25)
        changed = await media.describe(inst, m.id, description="Blue", focus="-1,1")
        assert (changed.description, changed.focus_x, changed.focus_y) == ("Blue", -1.0, 1.0)
        for bad in ("2,0", "x", "1"):
            with pytest.raises(Invalid):
                await media.describe(inst, m.id, focus=bad)
        with pytest.raises(Invalid):
            await media.describe(inst, m.id, description="x" * 1501)


async def test_unposted_uploads_and_unnamed_files_are_collected(tmp_path):
    from datetime import timedelta

    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        kept = await media.upload(inst, Upload(io.BytesIO(samples.png(20, 20))))
        await posting.publish(inst, posting.Draft("kept", media_ids=(kept.id,)))
        dropped = await media.upload(inst, Upload(io.BytesIO(samples.png(30, 30))))
        async with inst.db.transaction() as tx:  # an upload from two days ago, never posted
            await tx.execute("UPDATE media SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", (dropped.id,))
        removed, freed = await media.collect_garbage(inst, grace=timedelta(0))
        assert removed == 1 and freed > 0
        assert (inst.config.media_dir / kept.file).exists()
        assert not (inst.config.media_dir / dropped.file).exists()
