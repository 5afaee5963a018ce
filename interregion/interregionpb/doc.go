// Package interregionpb holds the protobuf messages and gRPC stubs of the
// inter-region Link service, generated from interregion/proto by protoc
// (protoc-gen-go and protoc-gen-go-grpc). Do not edit the .pb.go files:
// change the .proto and regenerate.
package interregionpb
