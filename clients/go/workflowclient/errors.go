package workflowclient

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation is one invalid input reported by the daemon.
type FieldViolation struct {
	// Field is the path of the invalid value, e.g. "inputs.depth".
	Field string
	// Description says what is wrong with it.
	Description string
}

// Code returns the gRPC status code of err (codes.OK for nil, codes.Unknown
// for errors that are not gRPC statuses).
func Code(err error) codes.Code { return status.Code(err) }

// FieldViolations returns the google.rpc.BadRequest field violations carried
// in the details of a gRPC status error (INVALID_ARGUMENT from ValidateInputs
// or Execute); nil when there are none.
func FieldViolations(err error) []FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []FieldViolation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	return out
}
