// A gRPC server the gateway was never built with, for the reflection tests:
// grpc-go with google.golang.org/grpc/reflection, serving inventory.v1.StockService,
// whose descriptor exists only in this program. No generated code: the file is
// described below in the text format and served with dynamicpb messages.
//
//	reflection-upstream -addr 127.0.0.1:0 [-name u1] [-v2] [-reflection both|v1|v1alpha|off] [-fail-first N]
//
// It prints "listening on HOST:PORT" once it accepts calls; SIGTERM stops it gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	v1alphareflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Version 1 of the API: a read marked NO_SIDE_EFFECTS and a write left unmarked.
const inventoryV1 = `
name: "inventory/v1/inventory.proto"
package: "inventory.v1"
dependency: "google/protobuf/timestamp.proto"
syntax: "proto3"
message_type {
  name: "GetStockRequest"
  field { name: "sku" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "sku" }
}
message_type {
  name: "Stock"
  field { name: "sku" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "sku" }
  field { name: "quantity" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "quantity" }
  field { name: "checked_at" number: 3 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" json_name: "checkedAt" }
  field { name: "served_by" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "servedBy" }
}
message_type {
  name: "ReserveRequest"
  field { name: "sku" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "sku" }
  field { name: "quantity" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "quantity" }
}
message_type {
  name: "Reservation"
  field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "id" }
  field { name: "sku" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "sku" }
  field { name: "quantity" number: 3 label: LABEL_OPTIONAL type: TYPE_INT32 json_name: "quantity" }
  field { name: "served_by" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "servedBy" }
}
service {
  name: "StockService"
  method {
    name: "GetStock"
    input_type: ".inventory.v1.GetStockRequest"
    output_type: ".inventory.v1.Stock"
    options { idempotency_level: NO_SIDE_EFFECTS }
  }
  method { name: "Reserve" input_type: ".inventory.v1.ReserveRequest" output_type: ".inventory.v1.Reservation" }
}
`

// Version 2 adds a method (and its request): what a redeployed upstream teaches the gateway.
const inventoryV2Additions = `
message_type {
  name: "ReleaseRequest"
  field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING json_name: "id" }
}
`

const releaseMethod = `
method {
  name: "Release"
  input_type: ".inventory.v1.ReleaseRequest"
  output_type: ".inventory.v1.Reservation"
  options { idempotency_level: IDEMPOTENT }
}
`

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "host:port to listen on")
	name := flag.String("name", "u1", "reported in served_by")
	v2 := flag.Bool("v2", false, "serve version 2 of the API (adds StockService/Release)")
	refl := flag.String("reflection", "both", "server reflection to serve: both, v1, v1alpha or off")
	failFirst := flag.Int64("fail-first", 0, "answer UNAVAILABLE to the first N calls of each method (after they arrived)")
	flag.Parse()
	unary := func(md protoreflect.MethodDescriptor, fn func(in, out *dynamicpb.Message) error) grpc.MethodDesc {
		var calls atomic.Int64
		return unaryMethod(md, func(in, out *dynamicpb.Message) error {
			if calls.Add(1) <= *failFirst {
				return status.Error(codes.Unavailable, "warming up")
			}
			return fn(in, out)
		})
	}

	file := describe(*v2)
	service := file.Services().ByName("StockService")
	var reservations atomic.Int64
	checkedAt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	methods := []grpc.MethodDesc{
		unary(service.Methods().ByName("GetStock"), func(in, out *dynamicpb.Message) error {
			sku := str(in, "sku")
			switch sku {
			case "":
				return status.Error(codes.InvalidArgument, "sku is required")
			case "missing":
				return status.Errorf(codes.NotFound, "no stock record for %q", sku)
			}
			set(out, "sku", protoreflect.ValueOfString(sku))
			set(out, "quantity", protoreflect.ValueOfInt32(int32(len(sku))*10))
			ts := out.NewField(field(out, "checked_at")).Message()
			ts.Set(ts.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(checkedAt.Unix()))
			out.Set(field(out, "checked_at"), protoreflect.ValueOfMessage(ts))
			set(out, "served_by", protoreflect.ValueOfString(*name))
			return nil
		}),
		unary(service.Methods().ByName("Reserve"), func(in, out *dynamicpb.Message) error {
			q := in.Get(field(in, "quantity")).Int()
			if q <= 0 {
				return status.Error(codes.InvalidArgument, "quantity must be positive")
			}
			n := reservations.Add(1)
			set(out, "id", protoreflect.ValueOfString(fmt.Sprintf("%s-%d", *name, n)))
			set(out, "sku", protoreflect.ValueOfString(str(in, "sku")))
			set(out, "quantity", protoreflect.ValueOfInt32(int32(q)))
			set(out, "served_by", protoreflect.ValueOfString(*name))
			return nil
		}),
	}
	if *v2 {
		methods = append(methods, unary(service.Methods().ByName("Release"), func(in, out *dynamicpb.Message) error {
			set(out, "id", protoreflect.ValueOfString(str(in, "id")))
			set(out, "served_by", protoreflect.ValueOfString(*name))
			return nil
		}))
	}

	server := grpc.NewServer()
	server.RegisterService(&grpc.ServiceDesc{
		ServiceName: string(service.FullName()),
		HandlerType: (*any)(nil),
		Methods:     methods,
		Metadata:    file.Path(),
	}, struct{}{})
	// grpc-go's own health service, as production servers run it: its
	// grpc/health/v1/health.proto is newer than many clients' copies.
	healthpb.RegisterHealthServer(server, health.NewServer())
	switch *refl {
	case "both":
		reflection.Register(server)
	case "v1":
		reflection.RegisterV1(server)
	case "v1alpha":
		v1alphareflectiongrpc.RegisterServerReflectionServer(server, reflection.NewServer(reflection.ServerOptions{Services: server}))
	case "off":
	default:
		log.Fatalf("-reflection must be both, v1, v1alpha or off, not %q", *refl)
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.GracefulStop()
	}()
	if err := server.Serve(lis); err != nil {
		log.Fatal(err)
	}
}

// describe builds the file from its text and registers it, so reflection finds it with its import.
func describe(v2 bool) protoreflect.FileDescriptor {
	text := inventoryV1
	if v2 {
		text = strings.Replace(text, "service {", inventoryV2Additions+"service {", 1)
		text = strings.Replace(text, `  method { name: "Reserve"`, releaseMethod+`  method { name: "Reserve"`, 1)
	}
	var fdp descriptorpb.FileDescriptorProto
	if err := prototext.Unmarshal([]byte(text), &fdp); err != nil {
		log.Fatalf("descriptor text: %v", err)
	}
	_ = timestamppb.Now // the import registers google/protobuf/timestamp.proto
	fd, err := protodesc.NewFile(&fdp, protoregistry.GlobalFiles)
	if err != nil {
		log.Fatalf("descriptor: %v", err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		log.Fatalf("register: %v", err)
	}
	return fd
}

func unaryMethod(md protoreflect.MethodDescriptor, fn func(in, out *dynamicpb.Message) error) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: string(md.Name()),
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := dynamicpb.NewMessage(md.Input())
			if err := dec(in); err != nil {
				return nil, err
			}
			out := dynamicpb.NewMessage(md.Output())
			if err := fn(in, out); err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

func field(m *dynamicpb.Message, name string) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

func str(m *dynamicpb.Message, name string) string { return m.Get(field(m, name)).String() }

func set(m *dynamicpb.Message, name string, v protoreflect.Value) { m.Set(field(m, name), v) }
