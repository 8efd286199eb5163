// The listening socket both minimal echo servers open.
#pragma once

// A socket listening on 127.0.0.1:port (backlog 4,096) with `type_flags`
// (SOCK_NONBLOCK or 0) added to SOCK_STREAM; exits with a message on failure.
int listen_on_loopback(int port, int type_flags);
