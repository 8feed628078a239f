package resumate

/*
#include <resumate/resumate.h>
*/
import "C"

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per status code; test with errors.Is(err, resumate.ErrNotFound).
var (
	ErrGeneric  = errors.New("resumate: error")               // RM_ERROR
	ErrInvalid  = errors.New("resumate: invalid input")       // RM_EINVALID (also a *ValidationError)
	ErrNotFound = errors.New("resumate: not found")           // RM_ENOTFOUND
	ErrConflict = errors.New("resumate: conflict")            // RM_ECONFLICT
	ErrAuth     = errors.New("resumate: bad credentials")     // RM_EAUTH
	ErrPerm     = errors.New("resumate: permission denied")   // RM_EPERM
	ErrLimit    = errors.New("resumate: limit reached")       // RM_ELIMIT
	ErrUpstream = errors.New("resumate: upstream failure")    // RM_EUPSTREAM
	ErrStorage  = errors.New("resumate: storage failure")     // RM_ESTORAGE
	ErrNoMem    = errors.New("resumate: out of memory")       // RM_ENOMEM
	ErrVersion  = errors.New("resumate: unsupported version") // RM_EVERSION
	ErrMisuse   = errors.New("resumate: API misuse")          // RM_EMISUSE (also nil or closed handles)
	ErrToken    = errors.New("resumate: token rejected")      // RM_ETOKEN
	ErrCanceled = errors.New("resumate: canceled")            // RM_ECANCELED
	ErrTimeout  = errors.New("resumate: timed out")           // RM_ETIMEOUT
	ErrParse    = errors.New("resumate: parse error")         // RM_EPARSE
	// ErrClosed is returned for a handle used after Close; errors.Is(err, ErrMisuse) is true too.
	ErrClosed = fmt.Errorf("%w: handle is closed", ErrMisuse)
)

var sentinels = map[int]error{
	int(C.RM_ERROR): ErrGeneric, int(C.RM_EINVALID): ErrInvalid, int(C.RM_ENOTFOUND): ErrNotFound,
	int(C.RM_ECONFLICT): ErrConflict, int(C.RM_EAUTH): ErrAuth, int(C.RM_EPERM): ErrPerm,
	int(C.RM_ELIMIT): ErrLimit, int(C.RM_EUPSTREAM): ErrUpstream, int(C.RM_ESTORAGE): ErrStorage,
	int(C.RM_ENOMEM): ErrNoMem, int(C.RM_EVERSION): ErrVersion, int(C.RM_EMISUSE): ErrMisuse,
	int(C.RM_ETOKEN): ErrToken, int(C.RM_ECANCELED): ErrCanceled, int(C.RM_ETIMEOUT): ErrTimeout,
	int(C.RM_EPARSE): ErrParse,
}

// Status codes and reasons (the C enums).
const (
	OK                  = int(C.RM_OK)
	TokenMalformed      = int(C.RM_TOKEN_MALFORMED)
	TokenBadSignature   = int(C.RM_TOKEN_BAD_SIGNATURE)
	TokenExpired        = int(C.RM_TOKEN_EXPIRED)
	TokenWrongType      = int(C.RM_TOKEN_WRONG_TYPE)
	TokenRevoked        = int(C.RM_TOKEN_REVOKED)
	UpstreamUnavailable = int(C.RM_UPSTREAM_UNAVAILABLE)
	DataAIModels        = int(C.RM_DATA_AI_MODELS)
	DataExamples        = int(C.RM_DATA_EXAMPLES)
	BreakerClosed       = int(C.RM_AI_BREAKER_CLOSED)
)

// Error is a failed library call: the status Code, its sub-Reason, the Message (never a secret),
// RetryAfter seconds for limits, and Fields (validation errors, name -> messages).
type Error struct {
	Code       int
	Reason     int
	Message    string
	RetryAfter int64
	Fields     map[string][]string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return StatusName(e.Code)
	}
	return StatusName(e.Code) + ": " + e.Message
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *Error) Is(target error) bool { return sentinels[e.Code] == target }

// ValidationError is an RM_EINVALID failure; errors.As(err, &v) gives its Fields (name -> messages).
// It wraps the *Error, so errors.Is(err, ErrInvalid) and errors.As(err, &e *Error) hold too.
type ValidationError struct {
	Fields map[string][]string
	Err    *Error
}

func (v *ValidationError) Error() string { return v.Err.Error() }

// Unwrap exposes the *Error.
func (v *ValidationError) Unwrap() error { return v.Err }

// errorFrom reads an error (the thread's last one when e is nil) for a failed status.
func errorFrom(status C.int, e *C.rm_error) error {
	if e == nil {
		e = C.rm_error_last()
	}
	out := Error{Code: int(status)}
	if C.rm_error_code(e) == status {
		out.Reason = int(C.rm_error_reason(e))
		out.Message = C.GoString(C.rm_error_message(e))
		out.RetryAfter = int64(C.rm_error_retry_after(e))
		n := C.rm_error_field_count(e)
		if n > 0 {
			out.Fields = map[string][]string{}
		}
		for i := C.size_t(0); i < n; i++ {
			name := C.GoString(C.rm_error_field_name(e, i))
			m := C.rm_error_field_message_count(e, i)
			for j := C.size_t(0); j < m; j++ {
				out.Fields[name] = append(out.Fields[name], C.GoString(C.rm_error_field_message(e, i, j)))
			}
		}
	}
	if status == C.RM_EINVALID {
		return &ValidationError{Fields: out.Fields, Err: &out}
	}
	return &out
}

func misuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMisuse}, args...)...)
}
