"""Ask the cluster registry one request with the caller's own stored login.

Run on a node as the user under test (`python3 -c "$(this file)" URL METHOD CA_FILE`):
it reads the login role `registry` stored in ~/.docker/config.json, sends it over TLS
verified against the cluster CA, and prints the HTTP status. The password never
appears on a command line or in the output.
"""

import json
import os
import pwd
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

url, method, ca_file = sys.argv[1:4]
registry = url.split("/")[2]
config = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".docker" / "config.json"
auth = json.loads(config.read_text(encoding="utf-8"))["auths"][registry]["auth"]
request = urllib.request.Request(url, method=method, headers={"Authorization": f"Basic {auth}"})
context = ssl.create_default_context(cafile=ca_file)
try:
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        print(response.status)
except urllib.error.HTTPError as refused:
    print(refused.code)
