"""Re-fetch the GraphiQL page's pinned assets into federation/serving/static/graphiql/.

    python scripts/fetch_graphiql.py

The gateway serves GraphiQL, React and ReactDOM from its own package (no CDN: the page works
on an air-gapped machine). This script brings the same files again from the npm registry with
`npm pack` at the pinned versions, checks each tarball against its pinned sha512 integrity
and copies the built files (and licences) over the committed ones. To move to other versions,
change PINNED (versions, integrity from `npm view <pkg>@<version> dist.integrity`) and the
file names in federation/serving/graphiql.py.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "federation" / "serving" / "static" / "graphiql"

#: package → (version, npm integrity, {file in the tarball: name served})
PINNED: dict[str, tuple[str, str, dict[str, str]]] = {
    "graphiql": (
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {
            "package/graphiql.min.js": "graphiql-3.8.3.min.js",
            "package/graphiql.min.css": "graphiql-3.8.3.min.css",
            "package/LICENSE": "LICENSE.graphiql",
        },
    ),
    "react": (
        "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        {
            "package/umd/react.production.min.js": "react-18.3.1.production.min.js",
            "package/LICENSE": "LICENSE.react",
        },
    ),
    "react-dom": (
        "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        {
            "package/umd/react-dom.production.min.js": "react-dom-18.3.1.production.min.js",
            "package/LICENSE": "LICENSE.react-dom",
        },
    ),
}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for package, (version, integrity, files) in PINNED.items():
            out = subprocess.run(
                ["npm", "pack", "--silent", f"{package}@{version}"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            found = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if found != integrity:
                raise SystemExit(f"{package}@{version}: integrity {found} is not the pinned {integrity}")
            with tarfile.open(tarball) as tar:
                for member, name in files.items():
                    source = tar.extractfile(member)
                    if source is None:
                        raise SystemExit(f"{package}@{version}: no {member}")
                    with (TARGET / name).open("wb") as target:
                        shutil.copyfileobj(source, target)
                    print(f"{package}@{version}: {member} -> {TARGET / name}")


if __name__ == "__main__":
    main()
