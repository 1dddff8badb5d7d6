"""The operator's commands on a node's folder: init, invite, enroll, anchors and trust
(admin.py), parties and agencies (parties.py), status, messages and evidence (messaging.py),
and the data element catalog. Each opens the folder, does one thing, and closes it."""
