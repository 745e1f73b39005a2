#!/bin/sh
# Writes without pause from several processes at once, more than one reader
# drains, until it is killed.
for i in 1 2 3 4 5 6 7 8; do
  /bin/cat /dev/zero &
done
wait
