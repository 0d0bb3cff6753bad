"""``csa-bench data prepare``: end to end against a local HTTP server on 127.0.0.1 serving fixture archives
in the official names and layouts; resumed downloads, checksum mismatches, hostile archives, the 11->10
conversion and MovingFashion's preparation (frames + annotations, folder bug fixed)."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from csa_bench.cli import main
from csa_bench.datasets.prepare import STATE_FILE, PrepareError, download, extract

from . import dataset_fixtures as fixtures


class _Server:
    """Serves ``files`` (name -> bytes) with Range support; ``cut[name] = n`` breaks the next response
    for ``name`` after ``n`` bytes (the full Content-Length announced, then the connection closed)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.ranges: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:   # quiet test output
                pass

            def do_GET(self) -> None:
                name = self.path.lstrip('/')
                server.ranges.append((name, self.headers.get('Range')))
                if name not in server.files:
                    self.send_error(404)
                    return
                data, start = server.files[name], 0
                if (header := self.headers.get('Range')) is not None:
                    start = int(header.split('=')[1].split('-')[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
                self.send_header('Content-Length', str(len(data) - start))
                self.end_headers()
                if name in server.cut:
                    self.wfile.write(data[start:start + server.cut.pop(name)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data[start:])

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with _Server() as running:
        yield running


def _tar(folders: dict[str, Path], root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as handle:
        for name, base in folders.items():
            handle.add(base / name, arcname=name)
    return buffer.getvalue()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- LPR4M
@pytest.fixture
def lpr_release(tmp_path: Path, server: _Server) -> Path:
    """The LPR750K fixture tree packed as the official archives (each holds the folder of its name)."""
    src = fixtures.write_lpr750k(tmp_path / 'src')
    # An 11-column full-release part file travels in annotations.tar: prepare converts it.
    row = [fixtures.CB, json.dumps([f'{fixtures.CB}-0001']), '[]', fixtures.I2, 'blue star', '5', 'ornaments',
           'asr', 'medium', 'long', 'single']
    (src / 'annotations' / 'training_videoinfo_full_part_00.txt').write_text('\t'.join(row) + '\n')
    for name in ('query', 'gallery', 'annotations', 'training_video_00', 'training_video_01'):
        server.files[f'{name}.tar'] = _tar({name: src}, src)
    # The full-release-convention folders of the fixture (frames/, images/) travel with the shop images.
    extra = sorted(p.name for p in src.iterdir() if p.is_dir() and p.name not in (
        'query', 'gallery', 'annotations', 'training_video_00', 'training_video_01', 'training_image'))
    server.files['training_image.tar'] = _tar(dict.fromkeys(['training_image', *extra], src), src)
    return src


LPR_ONLY = ['query.tar', 'gallery.tar', 'annotations.tar', 'training_image.tar', 'training_video_00.tar',
            'training_video_01.tar']


def _prepare_lpr(server: _Server, out: Path, *extra: str) -> int:
    return main(['data', 'prepare', 'lpr4m', '--out', str(out), '--url', server.url, '--only', *LPR_ONLY, *extra])


def test_lpr4m_end_to_end_with_an_interrupted_download_that_resumes(lpr_release: Path, server: _Server,
                                                                    tmp_path: Path, capsys) -> None:
    out = tmp_path / 'lpr4m'
    size = len(server.files['annotations.tar'])
    server.cut['annotations.tar'] = size // 3
    assert _prepare_lpr(server, out) == 2
    assert 'interrupted' in capsys.readouterr().err
    part = out / 'downloads' / 'annotations.tar.part'
    assert part.stat().st_size == size // 3                  # kept for the resume
    assert not (out / 'downloads' / 'annotations.tar').exists()
    assert _prepare_lpr(server, out) == 0
    assert ('annotations.tar', f'bytes={size // 3}-') in server.ranges   # resumed with HTTP Range
    assert (out / 'downloads' / 'annotations.tar').read_bytes() == server.files['annotations.tar']
    assert not part.exists()
    extracted = _tree(out)
    for rel, data in _tree(lpr_release).items():
        assert extracted[rel] == data, rel
    # 11 -> 10 columns: the full-release part file became one 10-column training file.
    converted = (out / 'annotations' / 'training_videoinfo_full_10col.txt').read_text().splitlines()
    assert len(converted) == 1 and len(converted[0].split('\t')) == 10
    assert converted[0].split('\t')[0] == fixtures.CB
    state = json.loads((out / STATE_FILE).read_text())
    assert all(state['archives'][name]['extracted'] for name in LPR_ONLY)
    assert main(['data', 'check', str(out), '--format', 'lpr4m', '--workers', '1']) == 0
    # A re-run skips what is done: nothing is requested again.
    before = len(server.ranges)
    assert _prepare_lpr(server, out) == 0
    assert len(server.ranges) == before


def test_checksum_mismatch_keeps_the_download_as_corrupt(lpr_release: Path, server: _Server, tmp_path: Path,
                                                         capsys) -> None:
    out = tmp_path / 'lpr4m'
    sums = tmp_path / 'SHA256SUMS'
    sums.write_text(f'{"0" * 64}  query.tar\n')
    assert _prepare_lpr(server, out, '--checksums', str(sums)) == 2
    err = ' '.join(capsys.readouterr().err.split())
    assert _sha(server.files['query.tar']) in err and '0' * 64 in err and 'query.tar.corrupt' in err
    assert (out / 'downloads' / 'query.tar.corrupt').read_bytes() == server.files['query.tar']
    assert not (out / 'downloads' / 'query.tar.part').exists() and not (out / 'downloads' / 'query.tar').exists()
    assert not (out / 'query').exists()                       # nothing extracted from an unverified archive
    sums.write_text(f'{_sha(server.files["query.tar"])}  query.tar\n')
    assert _prepare_lpr(server, out, '--checksums', str(sums)) == 0
    assert json.loads((out / STATE_FILE).read_text())['archives']['query.tar']['sha256_checked'] is True


def test_unknown_archive_name_and_bad_checksum_file_are_refused(server: _Server, tmp_path: Path, capsys) -> None:
    assert main(['data', 'prepare', 'lpr4m', '--out', str(tmp_path / 'o'), '--url', server.url,
                 '--only', 'query.tar.gz']) == 2
    assert 'is not a lpr4m archive' in capsys.readouterr().err
    sums = tmp_path / 'sums'
    sums.write_text('abc query.tar\n')
    assert main(['data', 'prepare', 'lpr4m', '--out', str(tmp_path / 'o'), '--url', server.url,
                 '--checksums', str(sums)]) == 2
    assert f'{sums}:1' in capsys.readouterr().err


def test_http_error_and_non_http_urls(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(PrepareError, match='HTTP 404'):
        download(server.url + 'nothing.tar', tmp_path / 'nothing.tar')
    with pytest.raises(PrepareError, match='only http'):
        download('file:///etc/passwd', tmp_path / 'passwd')
    assert not (tmp_path / 'passwd').exists()


def test_published_size_is_checked(server: _Server, tmp_path: Path) -> None:
    server.files['a.bin'] = b'12345'
    with pytest.raises(PrepareError, match='5 bytes, expected 6'):
        download(server.url + 'a.bin', tmp_path / 'a.bin', size=6)
    assert download(server.url + 'a.bin', tmp_path / 'b.bin', sha256=_sha(b'12345'), size=5).read_bytes() == b'12345'


# ----------------------------------------------------------------------------- hostile archives
def _hostile_tar(kind: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as handle:
        ok = tarfile.TarInfo('query/fine.txt')
        ok.size = 2
        handle.addfile(ok, io.BytesIO(b'ok'))
        if kind in ('dotdot', 'absolute'):
            bad = tarfile.TarInfo('../escape.txt' if kind == 'dotdot' else '/tmp/csa_bench_escape.txt')
            bad.size = 3
            handle.addfile(bad, io.BytesIO(b'bad'))
        elif kind in ('symlink', 'hardlink'):
            link = tarfile.TarInfo('query/link')
            link.type = tarfile.SYMTYPE if kind == 'symlink' else tarfile.LNKTYPE
            link.linkname = '../../outside' if kind == 'symlink' else '../outside'
            handle.addfile(link)
        elif kind == 'device':
            dev = tarfile.TarInfo('query/dev')
            dev.type = tarfile.CHRTYPE
            handle.addfile(dev)
    return buffer.getvalue()


@pytest.mark.parametrize('kind', ['dotdot', 'absolute', 'symlink', 'hardlink', 'device'])
def test_hostile_tar_members_are_refused_before_anything_is_written(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / 'query.tar'
    archive.write_bytes(_hostile_tar(kind))
    out = tmp_path / 'out' / 'root'
    with pytest.raises(PrepareError, match='refused'):
        extract(archive, out)
    assert list(out.iterdir()) == []                 # not even the harmless member
    assert not (tmp_path / 'out' / 'escape.txt').exists() and not (tmp_path / 'outside').exists()


def test_hostile_zip_members_are_refused(tmp_path: Path) -> None:
    for name, info in (('dotdot.zip', zipfile.ZipInfo('../escape.txt')),
                       ('link.zip', zipfile.ZipInfo('imgs/link'))):
        if name == 'link.zip':
            info.external_attr = (0o120777 << 16)       # a symbolic link entry
        with zipfile.ZipFile(tmp_path / name, 'w') as handle:
            handle.writestr('imgs/fine.txt', 'ok')
            handle.writestr(info, '../../etc/passwd')
        out = tmp_path / name.replace('.zip', '')
        with pytest.raises(PrepareError, match='refused'):
            extract(tmp_path / name, out)
        assert list(out.iterdir()) == []
    assert not (tmp_path / 'escape.txt').exists()


def test_hostile_archive_from_the_server_is_refused(server: _Server, tmp_path: Path, capsys) -> None:
    server.files['query.tar'] = _hostile_tar('dotdot')
    out = tmp_path / 'lpr4m'
    assert main(['data', 'prepare', 'lpr4m', '--out', str(out), '--url', server.url, '--only', 'query.tar']) == 2
    assert "'../escape.txt'" in capsys.readouterr().err
    assert not (tmp_path / 'escape.txt').exists() and not (out / 'query').exists()


def test_extraction_never_overwrites_files_it_did_not_write(tmp_path: Path) -> None:
    archive = tmp_path / 'query.tar'
    archive.write_bytes(_hostile_tar('none'))
    out = tmp_path / 'out'
    (out / 'query').mkdir(parents=True)
    (out / 'query' / 'fine.txt').write_text('mine')
    with pytest.raises(PrepareError, match='would overwrite 1 existing file'):
        extract(archive, out)
    assert (out / 'query' / 'fine.txt').read_text() == 'mine'
    assert extract(archive, out, overwrite=True) == 1    # a resumed extraction of the same archive


# ----------------------------------------------------------------------------- MovingFashion
@pytest.fixture
def mf_release(tmp_path: Path, server: _Server) -> Path:
    """The raw MovingFashion fixture as ``movingfashion.zip``, wrapped in one top folder."""
    src = fixtures.write_movingfashion(tmp_path / 'src' / 'MovingFashion')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as handle:
        for path in sorted(src.rglob('*')):
            handle.write(path, f'MovingFashion/{path.relative_to(src).as_posix()}')
    server.files['movingfashion.zip'] = buffer.getvalue()
    return src


def test_movingfashion_end_to_end(mf_release: Path, server: _Server, tmp_path: Path, capsys) -> None:
    out = tmp_path / 'mf'
    argv = ['data', 'prepare', 'movingfashion', '--out', str(out), '--url', server.url, '--frames', 'decord']
    # The published size/sha256 belong to the real 24 GB archive: the fixture fails them.
    assert main(argv) == 2
    assert 'expected 25925189869' in capsys.readouterr().err
    (out / 'downloads' / 'movingfashion.zip.corrupt').unlink()
    sums = tmp_path / 'sums'
    sums.write_text(f'{_sha(server.files["movingfashion.zip"])}  movingfashion.zip\n')
    assert main([*argv, '--checksums', str(sums)]) == 0
    for rel, data in _tree(mf_release).items():         # the top folder was stripped
        assert (out / rel).read_bytes() == data, rel
    # Frames at 1 fps in frames/<stem>/<stem>.mp4_%04d.png (not the official frames/<stem>.mp4/).
    assert not (out / 'frames' / 'v1.mp4').exists()
    v1 = sorted(p.name for p in (out / 'frames' / 'v1').iterdir())
    assert v1 == [f'v1.mp4_{i:04d}.png' for i in range(1, 16)]     # 15 s -> 15 frames
    # 1.5 s: ffmpeg's fps filter keeps floor(1.5 + 1/2) = 2 frames
    assert sorted(p.name for p in (out / 'frames' / 's2').iterdir()) == ['s2.mp4_0001.png', 's2.mp4_0002.png']
    ann = out / 'annotations'
    rows = (ann / 'videoid_videopath_imagepath_srcid.txt').read_text().splitlines()
    assert rows == ['s1\tvideos/s1.mp4\timgs/j1.jpg\t1', 's1\tvideos/s1.mp4\timgs/j2.png\t0',
                    'm1\tvideos/m1.mp4\timgs/j3.jpg\t1', 's2\tvideos/s2.mp4\timgs/j1.jpg\t1']
    assert (ann / 'gallery_full.txt').read_text() == 'imgs/j1.jpg\nimgs/j2.png\nimgs/j3.jpg\nimgs/j1.jpg\n'
    video_to_gt = json.loads((ann / 'video_to_gt.json').read_text())
    assert video_to_gt == {'s1': {'gt': 'j2', 'source': 0}, 's2': {'gt': 'j1', 'source': 1}}  # m1 has no video
    queries = json.loads((ann / 'query_tenframes.json').read_text())
    assert queries['s1']['gt'] == 'j2' and queries['s2']['frames'] == ['frames/s2/s2.mp4_0001.png',
                                                                     'frames/s2/s2.mp4_0002.png']
    assert (ann / 'query_tenframes.json').read_text().startswith('{\n "s1": {\n  "frames"')   # indent=1
    training = [line.split('\t') for line in (ann / 'training_videoinfo_full.txt').read_text().splitlines()]
    assert [r[0] for r in training] == ['v1', 'v2']                # v3.mp4 is missing from the release
    frames_v1 = json.loads(training[0][1])
    assert frames_v1 == [f'frames/v1/v1.mp4_{i * 15 // 10 + 1:04d}.png' for i in range(10)]   # floor(i·n/10)
    assert training[0][2:] == ['i1', 'imgs/i1.jpg', '1']
    state = json.loads((out / STATE_FILE).read_text())
    assert state['prepared']['frame_source'] == 'decord-1fps'
    # The prepared annotations load with the dataset class (the CSA-prepared reading).
    from plugins.datasets.movingfashion import MovingFashionDataset
    train = MovingFashionDataset(data_root=str(out), split='train', annotation='prepared', lazy_init=False)
    test = MovingFashionDataset(data_root=str(out), split='test', annotation='prepared', lazy_init=False)
    assert len(train) == 2 and sum(test.get_data_info(i)['role'] == 'query' for i in range(len(test))) == 2


def test_movingfashion_without_url_names_the_archive_and_the_page(tmp_path: Path, capsys) -> None:
    assert main(['data', 'prepare', 'movingfashion', '--out', str(tmp_path / 'mf')]) == 2
    err = ' '.join(capsys.readouterr().err.split())
    assert 'movingfashion.zip' in err and 'https://bit.ly/4bTZGeS' in err and str(tmp_path / 'mf' / 'downloads') in err


def test_converted_training_file_reads_like_the_11_column_parts(lpr4m_full_root: Path) -> None:
    from plugins.datasets.lpr4m import LPR4MDataset
    from plugins.datasets.preparation import CONVERTED_TRAIN_FILE, prepare_lpr4m

    assert prepare_lpr4m(lpr4m_full_root, log=lambda _: None) == {'converted_rows': 1}
    parts = LPR4MDataset(data_root=str(lpr4m_full_root), split='train', lazy_init=False)
    converted = LPR4MDataset(data_root=str(lpr4m_full_root), split='train', layout='lpr750k',
                             train_files=[CONVERTED_TRAIN_FILE], lazy_init=False)
    assert parts.layout == 'full' and len(parts) == len(converted) == 1
    for key in ('frame_paths', 'img_path', 'item_id'):
        assert parts.get_data_info(0)[key] == converted.get_data_info(0)[key]
    assert not (lpr4m_full_root / '.csa_bench_convert.tmp').exists()


def test_a_link_planted_where_a_file_goes_is_not_followed(tmp_path: Path) -> None:
    archive = tmp_path / 'query.tar'
    archive.write_bytes(_hostile_tar('none'))
    out = tmp_path / 'out'
    (out / 'query').mkdir(parents=True)
    (out / 'query' / 'fine.txt').symlink_to(tmp_path / 'victim.txt')   # dangling, pointing outside
    with pytest.raises(PrepareError, match='would overwrite'):
        extract(archive, out)
    assert not (tmp_path / 'victim.txt').exists()
    assert extract(archive, out, overwrite=True) == 1
    assert not (tmp_path / 'victim.txt').exists() and (out / 'query' / 'fine.txt').read_bytes() == b'ok'
