"""The service: wire protocol, scheduler, ZeroMQ server, WebSocket relay, Python clients."""
