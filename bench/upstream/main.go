// Command upstream is the benchmark's echo server: acme.echo.v1.EchoService and
// grpc.health.v1.Health on one cleartext port that speaks gRPC, gRPC-Web and
// Connect (proto and JSON) over HTTP/1.1 and h2c (prior knowledge), via
// connect-go. It is meant to be cheap, so the proxy in front of it is what a
// benchmark measures.
//
// Echo answers {message, replica: "go"}. Count streams count messages with no
// delay when interval_ms is 0; the request header x-bench-pad: N makes each
// message's replica field N bytes long, so a stream carries real volume.
//
// connect-go gzips every response for a client that accepts gzip (as
// Switchyard's upstream requests say they do); -compress-min-bytes changes that.
//
//	upstream -addr 127.0.0.1:0   # prints "listening on 127.0.0.1:PORT" once ready
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	echov1 "switchyard/bench/gen/acme/echo/v1"
	"switchyard/bench/gen/acme/echo/v1/echov1connect"
	healthv1 "switchyard/bench/gen/grpc/health/v1"
	"switchyard/bench/gen/grpc/health/v1/healthv1connect"
)

const maxPad = 4 << 20

type echoServer struct {
	echov1connect.UnimplementedEchoServiceHandler
	name string
}

func (s *echoServer) Echo(_ context.Context, req *connect.Request[echov1.EchoRequest]) (*connect.Response[echov1.EchoResponse], error) {
	return connect.NewResponse(&echov1.EchoResponse{Message: req.Msg.GetMessage(), Replica: s.name}), nil
}

func (s *echoServer) Count(ctx context.Context, req *connect.Request[echov1.CountRequest], stream *connect.ServerStream[echov1.CountResponse]) error {
	replica := s.name
	if p := req.Header().Get("x-bench-pad"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > maxPad {
			return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("x-bench-pad: want 0..%d, got %q", maxPad, p))
		}
		replica = strings.Repeat("x", n)
	}
	interval := time.Duration(req.Msg.GetIntervalMs()) * time.Millisecond
	for n := int32(1); n <= req.Msg.GetCount(); n++ {
		if n > 1 && interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := stream.Send(&echov1.CountResponse{N: n, Replica: replica}); err != nil {
			return err
		}
	}
	return nil
}

func (s *echoServer) Sum(_ context.Context, stream *connect.ClientStream[echov1.SumRequest]) (*connect.Response[echov1.SumResponse], error) {
	var total int64
	for stream.Receive() {
		total += stream.Msg().GetValue()
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(&echov1.SumResponse{Total: total, Replica: s.name}), nil
}

func (s *echoServer) Chat(_ context.Context, stream *connect.BidiStream[echov1.ChatRequest, echov1.ChatResponse]) error {
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := stream.Send(&echov1.ChatResponse{Message: req.GetMessage(), Replica: s.name}); err != nil {
			return err
		}
	}
}

type healthServer struct {
	healthv1connect.UnimplementedHealthHandler
}

func (healthServer) Check(context.Context, *connect.Request[healthv1.HealthCheckRequest]) (*connect.Response[healthv1.HealthCheckResponse], error) {
	return connect.NewResponse(&healthv1.HealthCheckResponse{Status: healthv1.HealthCheckResponse_SERVING}), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	name := flag.String("name", "go", "replica name put into responses")
	compressMin := flag.Int("compress-min-bytes", 0, "compress responses only from this size on, when the client accepts gzip (0: connect-go's default, every response)")
	flag.Parse()

	opts := []connect.HandlerOption{connect.WithReadMaxBytes(16 << 20), connect.WithSendMaxBytes(16 << 20)}
	if *compressMin > 0 {
		opts = append(opts, connect.WithCompressMinBytes(*compressMin))
	}
	mux := http.NewServeMux()
	mux.Handle(echov1connect.NewEchoServiceHandler(&echoServer{name: *name}, opts...))
	mux.Handle(healthv1connect.NewHealthHandler(healthServer{}, opts...))

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           mux,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		// As many concurrent streams per connection as the Node demo replica allows.
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 1000},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}
