"""``python -m campaign_planner.api new-key``: print a new API key and the hash the server stores."""

from __future__ import annotations

import sys

from campaign_planner.api.auth import API_KEY_HASHES_ENV, generate_api_key


def main(argv: list[str]) -> int:
    """Print a new key and its hash for ``new-key``; print usage and return 2 otherwise."""
    if argv != ["new-key"]:
        sys.stderr.write("usage: python -m campaign_planner.api new-key\n")
        return 2
    key, digest = generate_api_key()
    sys.stdout.write(f"key (give it to the client; it is not stored anywhere): {key}\n")
    sys.stdout.write(f"hash (add it to {API_KEY_HASHES_ENV}): {digest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
