# SPDX-License-Identifier: GPL-2.0-only
# Source me: puts the project's clang (a link to clang-19 made by setup.sh)
# first on PATH, where scx_utils' build looks for it.
_usched_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
case ":$PATH:" in *":$_usched_root/tools/bin:"*) ;; *) export PATH="$_usched_root/tools/bin:$PATH";; esac
unset _usched_root
