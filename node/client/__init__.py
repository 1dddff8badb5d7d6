"""`swnode client`: calls a node's client port as an enterprise, agency or operator would.
commands.py holds the parser and the identity and document commands; certificates.py and
logistics.py their own; common.py the bearer, the file reading and the printing they share."""
