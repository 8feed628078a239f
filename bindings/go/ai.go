package resumate

/*
#include <resumate/resumate.h>
#include <stdlib.h>
static rm_ai_generate_options *rmgo_ai_options_new(void)
{
    rm_ai_generate_options *o = calloc(1, sizeof *o);
    if (o && rm_ai_generate_options_init(o, RM_AI_GENERATE_OPTIONS_VERSION) != RM_OK) { free(o); o = NULL; }
    return o;
}
*/
import "C"

import "unsafe"

// AIResult is the outcome of a generation: the saved resume, its Markdown, the model that answered.
type AIResult struct {
	ResumeID int64
	Content  string
	Title    string
	Model    string
	Replayed bool   // an idempotent replay: no new generation
	JSON     string // the REST API's answer {"resume_id", "content"}
}

// GenerateOptions are per-call options of Generate.
type GenerateOptions struct {
	IdempotencyKey string
	DeadlineMs     int64
}

// Generate generates a resume with an AI model and saves it (fields: model, user_input, title,
// application_id). It blocks the calling goroutine's thread. Errors: ErrInvalid, ErrLimit
// (RetryAfter), ErrUpstream (Reason), ErrTimeout, ErrConflict.
func (c *Ctx) Generate(who *Principal, fields map[string]any, o GenerateOptions) (*AIResult, error) {
	opts := C.rmgo_ai_options_new()
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
	var res *AIResult
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			var p *C.rm_ai_result
			if err := call(func() C.int { return C.rm_ai_generate(&p, ctx, w, f, opts) }); err != nil {
				return err
			}
			defer C.rm_ai_result_free(p)
			res = &AIResult{ResumeID: int64(C.rm_ai_result_resume_id(p)), Content: C.GoString(C.rm_ai_result_content(p)),
				Title: C.GoString(C.rm_ai_result_title(p)), Model: C.GoString(C.rm_ai_result_model(p)),
				Replayed: C.rm_ai_result_replayed(p) != 0}
			var js *C.char
			if err := call(func() C.int { return C.rm_ai_result_to_json(&js, p) }); err != nil {
				return err
			}
			res.JSON = takeString(js)
			return nil
		})
	})
	return res, err
}
