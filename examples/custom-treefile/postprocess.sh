#!/bin/sh
# Runs inside the composed tree, after the packages and add-files.
set -eu
# The login banner names the build: SOURCE_DATE_EPOCH is the commit's date,
# so the same inputs give the same file.
built=$(date -u -d "@${SOURCE_DATE_EPOCH}" +%Y-%m-%d)
printf 'Debian GNU/Linux (apt-ostree example, built %s) \\n \\l\n\n' "$built" > /etc/issue
# less as the pager for everyone.
update-alternatives --set pager /usr/bin/less
