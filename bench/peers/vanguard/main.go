// Command vanguard is a baseline peer for the benchmark: connectrpc/vanguard-go
// in front of one gRPC upstream. It takes gRPC, gRPC-Web and Connect (proto or
// JSON) on one cleartext port (HTTP/1.1 and h2c) and sends every call to the
// upstream as gRPC with the proto codec, through an h2c reverse proxy;
// transcoding JSON <-> proto as needed.
//
// The service descriptors come from the generated Go code in bench/gen
// (imported below, which registers acme.echo.v1 and grpc.health.v1 with the
// protobuf runtime's global registry); vanguard.NewService looks them up there.
//
//	vanguard -addr 127.0.0.1:0 -upstream 127.0.0.1:50051   # prints "listening on ..."
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"connectrpc.com/vanguard"

	"switchyard/bench/gen/acme/echo/v1/echov1connect"
	"switchyard/bench/gen/grpc/health/v1/healthv1connect"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	upstream := flag.String("upstream", "", "gRPC upstream host:port (h2c)")
	flag.Parse()
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "vanguard: -upstream host:port is required")
		os.Exit(2)
	}

	target := &url.URL{Scheme: "http", Host: *upstream}
	proxy := httputil.NewSingleHostReverseProxy(target)
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	proxy.Transport = &http.Transport{
		Protocols:           h2c,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		HTTP2:               &http.HTTP2Config{StrictMaxConcurrentRequests: false},
	}
	// Stream responses (server streaming) as they come instead of buffering.
	proxy.FlushInterval = -1

	opts := []vanguard.ServiceOption{
		vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
		vanguard.WithTargetCodecs(vanguard.CodecProto),
	}
	transcoder, err := vanguard.NewTranscoder([]*vanguard.Service{
		vanguard.NewService(echov1connect.EchoServiceName, proxy, opts...),
		vanguard.NewService(healthv1connect.HealthName, proxy, opts...),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "vanguard:", err)
		os.Exit(1)
	}

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           transcoder,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 1000},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vanguard:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "vanguard:", err)
		os.Exit(1)
	}
}
