package resumate

// The Go side of the C callbacks of rm_ai_generate_async (ai_async.go). A file with //export may
// only declare C functions in its preamble, so the C glue lives in ai_async.go.

/*
#include <resumate/resumate.h>
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

// rmgoAIChunk runs on a library thread for each streamed piece: it only queues the text.
//
//export rmgoAIChunk
func rmgoAIChunk(h C.uintptr_t, text *C.char, n C.size_t) C.int {
	st := cgo.Handle(h).Value().(*jobState)
	st.queue(C.GoStringN(text, C.int(n)))
	return 0
}

// rmgoAIDone runs exactly once, on a library thread or inside rm_ai_generate_async itself: it
// records the outcome (reading the error while it is valid) and releases the handle.
//
//export rmgoAIDone
func rmgoAIDone(h C.uintptr_t, status C.int, res *C.rm_ai_result, e *C.rm_error) {
	hd := cgo.Handle(h)
	st := hd.Value().(*jobState)
	hd.Delete()
	st.finish(status, res, e)
}
