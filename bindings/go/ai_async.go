package resumate

/*
#include <resumate/resumate.h>
#include <stdint.h>
#include <stdlib.h>

// Exported by ai_async_export.go.
extern int rmgoAIChunk(uintptr_t h, char *text, size_t n);
extern void rmgoAIDone(uintptr_t h, int status, rm_ai_result *result, rm_error *error);

static rm_ai_generate_options *rmgo_async_options_new(void)
{
    rm_ai_generate_options *o = calloc(1, sizeof *o);
    if (o && rm_ai_generate_options_init(o, RM_AI_GENERATE_OPTIONS_VERSION) != RM_OK) { free(o); o = NULL; }
    return o;
}

// C trampolines: the library calls these with the cgo.Handle (an integer) as userdata.
static int rmgo_on_chunk(void *userdata, const char *text, size_t len)
{
    return rmgoAIChunk((uintptr_t)userdata, (char *)text, len);
}
static void rmgo_on_done(void *userdata, int status, rm_ai_result *result, const rm_error *error)
{
    rmgoAIDone((uintptr_t)userdata, status, result, (rm_error *)error);
}
static rm_ai_chunk_fn rmgo_chunk_fn(int stream) { return stream ? rmgo_on_chunk : NULL; }
static rm_ai_done_fn rmgo_done_fn(void) { return rmgo_on_done; }
static void *rmgo_userdata(uintptr_t h) { return (void *)h; }
*/
import "C"

import (
	"context"
	"runtime"
	"runtime/cgo"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// jobState is shared by a Job and the C callbacks (through a cgo.Handle until rmgoAIDone).
type jobState struct {
	ctx      *Ctx // kept reachable while the generation runs
	onChunk  func(text string) error
	mu       sync.Mutex
	pending  []string
	notify   chan struct{} // a token when pending grew
	done     chan struct{} // closed by finish: the library is done with the job
	finished chan struct{} // closed when the outcome is set and every chunk was delivered
	res      *AIResult
	err      error
	chunkErr error // returned by onChunk: the job was cancelled because of it
	cancel   func()
}

func (st *jobState) queue(text string) {
	st.mu.Lock()
	st.pending = append(st.pending, text)
	st.mu.Unlock()
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

func (st *jobState) finish(status C.int, res *C.rm_ai_result, e *C.rm_error) {
	if status == C.RM_OK {
		r := &AIResult{ResumeID: int64(C.rm_ai_result_resume_id(res)), Content: C.GoString(C.rm_ai_result_content(res)),
			Title: C.GoString(C.rm_ai_result_title(res)), Model: C.GoString(C.rm_ai_result_model(res)),
			Replayed: C.rm_ai_result_replayed(res) != 0}
		var js *C.char
		if C.rm_ai_result_to_json(&js, res) == C.RM_OK {
			r.JSON = takeString(js)
		}
		C.rm_ai_result_free(res)
		st.res = r
	} else {
		st.err = errorFrom(status, e)
	}
	st.ctx.jobs.Done()
	close(st.done)
	if st.onChunk == nil {
		close(st.finished)
	}
}

// deliver runs on a goroutine of the job: it hands the queued text to onChunk in order, whole UTF-8
// characters only, until the library finished the job.
func (st *jobState) deliver() {
	var carry string
	send := func(text string) {
		if text != "" && st.chunkErr == nil {
			if err := st.onChunk(text); err != nil {
				st.chunkErr = err
				st.cancel()
			}
		}
	}
	for {
		var finished bool
		select {
		case <-st.notify:
		case <-st.done:
			finished = true
		}
		st.mu.Lock()
		batch := st.pending
		st.pending = nil
		st.mu.Unlock()
		for _, text := range batch {
			var whole string
			whole, carry = splitUTF8(carry + text)
			send(whole)
		}
		if finished {
			st.mu.Lock()
			left := len(st.pending)
			st.mu.Unlock()
			if left == 0 {
				send(carry)
				if st.chunkErr != nil {
					st.res, st.err = nil, st.chunkErr
				}
				close(st.finished)
				return
			}
		}
	}
}

// splitUTF8 splits s before a trailing incomplete UTF-8 sequence.
func splitUTF8(s string) (whole, rest string) {
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return s[:i], s[i:]
			}
			break
		}
	}
	return s, ""
}

// Job is an AI generation running in the background (rm_ai_job), from Ctx.GenerateAsync.
// Wait for its outcome, Cancel it, and Close it when no longer needed (Close does not cancel; a
// finalizer closes a forgotten one). Safe for concurrent use.
type Job struct {
	h  handle
	st *jobState
}

// GenerateAsync starts a generation without waiting (same fields and errors as Generate; validation,
// policy and quota failures are returned here). onChunk, if not nil, receives the streamed text in
// order, in pieces of whole UTF-8 characters, on a goroutine of the job (never a library thread);
// returning an error cancels the generation, and Wait then returns that error (should the generation
// have finished before the cancel took effect, its resume stays saved); onChunk must not call the
// job's Wait (the outcome comes after it). Ctx.Close waits for generations still running.
func (c *Ctx) GenerateAsync(who *Principal, fields map[string]any, o GenerateOptions, onChunk func(text string) error) (*Job, error) {
	opts := C.rmgo_async_options_new()
	if opts == nil {
		return nil, ErrNoMem
	}
	defer C.free(unsafe.Pointer(opts))
	cs, free, err := cstrs(o.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	defer free()
	if o.IdempotencyKey != "" {
		opts.idempotency_key = cs[0]
	}
	opts.deadline_ms = C.int64_t(o.DeadlineMs)
	st := &jobState{ctx: c, onChunk: onChunk, notify: make(chan struct{}, 1), done: make(chan struct{}),
		finished: make(chan struct{})}
	stream := C.int(0)
	if onChunk != nil {
		stream = 1
	}
	var jp *C.rm_ai_job
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			h := cgo.NewHandle(st)
			c.jobs.Add(1) // under the ctx's read lock: Close waits for it after taking the write lock
			err := call(func() C.int {
				return C.rm_ai_generate_async(&jp, ctx, w, f, opts, C.rmgo_chunk_fn(stream), C.rmgo_done_fn(),
					C.rmgo_userdata(C.uintptr_t(h)))
			})
			if err != nil { // on_done will never run
				h.Delete()
				c.jobs.Done()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	j := &Job{h: handle{ptr: unsafe.Pointer(jp), free: func(p unsafe.Pointer) { C.rm_ai_job_free((*C.rm_ai_job)(p)) }}, st: st}
	st.cancel = func() { _ = j.Cancel() }
	if onChunk != nil {
		go st.deliver()
	}
	runtime.SetFinalizer(j, (*Job).Close)
	return j, nil
}

// Wait waits for the outcome: the saved resume, or the generation's error (ErrCanceled after
// Cancel). If ctx ends first, it returns ctx.Err() and the job goes on. Wait works after Close too.
func (j *Job) Wait(ctx context.Context) (*AIResult, error) {
	if j == nil {
		return nil, misuse("nil Job")
	}
	select {
	case <-j.st.finished:
		return j.st.res, j.st.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Done is closed when the outcome is ready (Wait will not block).
func (j *Job) Done() <-chan struct{} { return j.st.finished }

// Cancel aborts the generation: nothing is saved, the quota charge is taken back, and Wait returns
// ErrCanceled. A no-op once the generation finished; ErrClosed after Close.
func (j *Job) Cancel() error {
	if j == nil {
		return misuse("nil Job")
	}
	return j.h.use(func(p unsafe.Pointer) error {
		return call(func() C.int { return C.rm_ai_job_cancel((*C.rm_ai_job)(p)) })
	})
}

// Close releases the job handle; the generation goes on (see Cancel) and Wait still works.
func (j *Job) Close() {
	if j != nil {
		j.h.close()
	}
}
