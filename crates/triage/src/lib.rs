//! Live triage through SSM Run Command, scoped by instance tag (issue 6). Work in progress.
