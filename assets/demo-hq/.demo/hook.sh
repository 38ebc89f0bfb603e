#!/bin/sh
# Demo rollback hook: pretends to roll back one branch. Called by Lumen with argv
# (never through a shell): hook.sh TXN BRANCH CHANGE
# Takes about a second and fails about one time in five.
txn="$1"
branch="$2"
change="$3"
echo "rollback $txn on $branch (change ${change:-none}): syncing previous release"
sleep 1
# Pseudo-random from the branch name and this process's id: no external tools.
n=$(( ( ${#branch} + $$ ) % 5 ))
if [ "$n" -eq 0 ]; then
  echo "rollback of $branch failed: health check did not recover" >&2
  exit 1
fi
echo "rollback of $branch done"
