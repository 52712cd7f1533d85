#!/usr/bin/env bash
# tally.sh FILE — what the suites' outboxes held at their end (lines written
# by t_tally in tests/lib.sh): how many messages in each state, what became
# of those the relay took, and whether every copy the test Postfix bounced
# after accepting it (the domain bounce.example) was detected as bounced.
# Exits 1 when one was not.
set -euo pipefail
f=${1:?usage: tally.sh FILE}
[ -s "$f" ] || { echo "no outbox was tallied"; exit 0; }
awk '
{ suites[$1] = 1; state[$2] += $4; total += $4
  if ($2 == "sent") delivery[$3] += $4
  if ($5 > 0) { caused += $5; if ($3 == "bounced") detected += $5
                else missed[$1 " (" $3 ")"] += $5 } }
END {
  n = 0; for (s in suites) n++
  printf "messages in the outboxes of %d suites: %d\n", n, total
  printf "  by state:"; for (s in state) printf " %s %d", s, state[s]; printf "\n"
  printf "  sent, by what came back:"
  for (d in delivery) printf " %s %d", (d == "-" ? "no report" : d), delivery[d]
  printf "\n"
  printf "  copies Postfix accepted and then bounced (bounce.example): %d, detected as bounced: %d\n", caused, detected
  bad = 0; for (m in missed) { printf "  not detected: %d in %s\n", missed[m], m; bad = 1 }
  exit bad
}' "$f"
