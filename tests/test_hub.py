"""The course on a hub: Binder's configuration (binder/), a real Jupyter server
with nbgitpuller pulling the course from a local bare repository and running
notebook 01's first cells in that server's kernel, and the Zero to JupyterHub
example (hub/config.yaml)."""

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from jupyter_servers import jupyter_server

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_repo2docker_reads_the_binder_configuration():
    out = subprocess.run([str(BIN / "jupyter-repo2docker"), "--no-build", "--no-run", "--debug",
                          str(ROOT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    dockerfile = out.stdout + out.stderr
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "./binder/postBuild" in dockerfile
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)
    assert "pip install --no-deps -e ." in post_build
    assert not any(word in post_build for word in ("curl", "wget", "data fetch"))  # nothing heavy
    assert (ROOT / "binder" / "requirements.txt").read_text().split() == ["-r", "../requirements.txt"]


def test_zero_to_jupyterhub_example_mounts_the_data_read_only():
    config = yaml.safe_load((ROOT / "hub" / "config.yaml").read_text())
    user = config["singleuser"]
    (mount,) = user["storage"]["extraVolumeMounts"]
    (volume,) = user["storage"]["extraVolumes"]
    assert mount["readOnly"] is True and volume["persistentVolumeClaim"]["readOnly"] is True
    assert mount["name"] == volume["name"]
    assert user["extraEnv"]["TL_DATA_DIR"] == mount["mountPath"]
    assert user["extraEnv"]["TL_PROFILE"] in ("quick", "full")
    assert float(user["memory"]["limit"].rstrip("G")) >= 4
    text = (ROOT / "hub" / "config.yaml").read_text()
    assert "jupyter-repo2docker" in text and "git-pull?repo=" in text


def _get(url, token, data=None, method=None, timeout=120):
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()


def _run_cells(url, token, kernel_id, cells, timeout=300) -> list[str]:
    """Execute ``cells`` one by one in the server's kernel, over its websocket (the
    Jupyter messaging protocol); returns each cell's stdout. Fails on an error."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run():
        request = HTTPRequest(f"ws{url[4:]}/api/kernels/{kernel_id}/channels",
                              headers={"Authorization": f"token {token}"})
        ws = await websocket_connect(request)
        outputs = []
        for code in cells:
            msg_id = uuid.uuid4().hex
            await ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": "t",
                           "username": "student", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False}}))
            text = []
            while True:
                msg = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["header"]["msg_type"]
                if kind == "stream" and msg["content"]["name"] == "stdout":
                    text.append(msg["content"]["text"])
                elif kind == "error":
                    raise AssertionError("\n".join(msg["content"]["traceback"])[-3000:])
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
            outputs.append("".join(text))
        ws.close()
        return outputs

    return asyncio.run(run())


@pytest.mark.slow
def test_nbgitpuller_pulls_the_course_and_its_kernel_runs_notebook_01(tmp_path):
    bare = tmp_path / "course.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(bare)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"), "TL_PROFILE": "quick",
           "TL_CACHE_DIR": str(tmp_path / "cache"), "TL_OUTPUT_DIR": str(tmp_path / "output")}
    with jupyter_server([str(BIN / "jupyter-server"), f"--ServerApp.root_dir={home}",
                         '--ServerApp.jpserver_extensions={"nbgitpuller": True}'],
                        tmp_path / "server.log", env) as (base, token):
        query = urllib.parse.urlencode({"repo": bare.as_uri(), "branch": "main",
                                        "targetpath": "tl-course"})
        events = _get(f"{base}/git-pull/api?{query}", token)
        assert '"phase": "finished"' in events, events[-2000:]
        notebook = home / "tl-course" / "notebooks" / "01_feature_extraction.ipynb"
        assert notebook.is_file()
        session = json.loads(_get(f"{base}/api/sessions", token, method="POST", data=json.dumps(
            {"path": "tl-course/notebooks/01_feature_extraction.ipynb", "type": "notebook",
             "kernel": {"name": "python3"}}).encode()))
        cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        upto = next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
        code = ["".join(c["source"]) for c in cells[:upto + 1]]
        code.append("import os, helpers; print(os.getcwd()); print(PROFILE, keras.backend.backend())")
        outputs = _run_cells(base, token, session["kernel"]["id"], code)
        cwd, last = outputs[-1].splitlines()
        assert Path(cwd) == notebook.parent          # the pulled copy's folder
        assert last == "quick tensorflow"
    shutil.rmtree(home, ignore_errors=True)
