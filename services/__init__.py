"""Services: the single window's business.

- `declarations`: one submission, every agency — validation, fan-out to the agencies the routing
  rules name, their decisions, and the declaration's status back to the declarant.
- `routing`: which agencies act on which document, who may submit it, and whose it is.
- `simulator`: a rule-based stand-in for agency staff, for test networks only (off by default).
- `statistics`: counts and clearance times, for a node and rolled up at the central node.
"""
