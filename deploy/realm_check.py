"""deploy/check.sh: the Keycloak realm of the compose stack gives the tokens
and redirects that [oidc] of deploy/compose/ansinh.toml expects."""
import json
import sys
import tomllib

oidc = tomllib.load(open("deploy/compose/ansinh.toml", "rb"))["oidc"]
realm = json.load(open("deploy/keycloak/ansinh-realm.json"))
problems = []
if not oidc["issuer"].endswith("/realms/" + realm["realm"]):
    problems.append(f"issuer {oidc['issuer']} is not of realm {realm['realm']}")
clients = [c for c in realm["clients"] if c["clientId"] == oidc["client_id"]]
if len(clients) != 1:
    problems.append(f"no client {oidc['client_id']}")
else:
    client = clients[0]
    if not client.get("publicClient"):
        problems.append("the client is not public")
    if client.get("attributes", {}).get("pkce.code.challenge.method") != "S256":
        problems.append("the client does not require PKCE S256")
    if oidc["redirect_uri"] not in client.get("redirectUris", []):
        problems.append(f"redirect {oidc['redirect_uri']} is not the client's")
    audiences = [
        m["config"].get("included.custom.audience")
        for m in client.get("protocolMappers", [])
        if m["protocolMapper"] == "oidc-audience-mapper" and m["config"].get("access.token.claim") == "true"
    ]
    if oidc["audience"] not in audiences:
        problems.append(f"no audience mapper puts {oidc['audience']} into access tokens")
for problem in problems:
    print("  " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
