"""What the node serves: the gRPC servicers of the peer port and the client port (ports.py puts
them together), the ops endpoints (health, metrics, status), and the helpers every servicer uses
(rpc.py turns refusals into gRPC status, auth.py finds the caller). A servicer only translates;
services/, identity/ and federation/ do the work."""
