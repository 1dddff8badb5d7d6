"""Identity: who a node is, and who its parties and their users are.

- Nodes: their key files (`keys`), the federation CA (`ca`), the central's authority over its
  federation and its signed directory (`authority`), and a province joining it (`enrolment`).
- Parties and users: `accounts` wires them together; enterprises register and the operator adds
  or suspends parties (`registration`) against the national registry (`national_registry`);
  users log in and refresh (`login_sessions`), with passwords hashed (`passwords`);
  administrators manage their users (`users`). Failed logins and registrations are counted per
  source and user (`guards`), and what the counts decide is the pure policy in `lockout`.
- Tokens: signed by the home node and checked at every node (`tokens`), by a node that may
  speak for the party (`homes`), until revoked across the federation (`revocations`).
"""
