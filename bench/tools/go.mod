module github.com/troupe-go/troupe/bench/tools

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/google/go-cmp v0.7.0
)
