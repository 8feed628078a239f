package resumate

/*
#include <resumate/resumate.h>
#include <stdlib.h>
rm_list_options *rmgo_list_options_new(void);
*/
import "C"

import (
	"unsafe"
)

func optString(p *C.char) *string { return goStringOrNil(p) }

// Resume is a resume record (copied out of the library).
type Resume struct {
	ID, UserID           int64
	Username, Title      string
	Content              string
	CreatedAt, UpdatedAt int64
	JSON                 string // the REST API's JSON object
}

func resumeOf(p *C.rm_resume) (*Resume, error) {
	r := &Resume{ID: int64(C.rm_resume_id(p)), UserID: int64(C.rm_resume_user_id(p)),
		Username: C.GoString(C.rm_resume_username(p)), Title: C.GoString(C.rm_resume_title(p)),
		Content: C.GoString(C.rm_resume_content(p)), CreatedAt: int64(C.rm_resume_created_at(p)),
		UpdatedAt: int64(C.rm_resume_updated_at(p))}
	var js *C.char
	if err := call(func() C.int { return C.rm_resume_to_json(&js, p) }); err != nil {
		return nil, err
	}
	r.JSON = takeString(js)
	return r, nil
}

// Application is a job application record (nil pointers are JSON null).
type Application struct {
	ID, UserID                            int64
	JobTitle, CompanyName, JobDescription *string
	DateApplied, Notes                    *string
	Status                                string
	IsDeleted, IsExample                  bool
	ResumeUsed                            int64 // 0 for none
	CreatedAt, UpdatedAt                  int64
	JSON                                  string
}

func applicationOf(p *C.rm_application) (*Application, error) {
	a := &Application{ID: int64(C.rm_application_id(p)), UserID: int64(C.rm_application_user_id(p)),
		JobTitle: optString(C.rm_application_job_title(p)), CompanyName: optString(C.rm_application_company_name(p)),
		JobDescription: optString(C.rm_application_original_job_description(p)),
		DateApplied:    optString(C.rm_application_date_applied(p)), Notes: optString(C.rm_application_notes(p)),
		Status: C.GoString(C.rm_application_status(p)), IsDeleted: C.rm_application_is_deleted(p) != 0,
		IsExample: C.rm_application_is_example(p) != 0, ResumeUsed: int64(C.rm_application_resume_used(p)),
		CreatedAt: int64(C.rm_application_created_at(p)), UpdatedAt: int64(C.rm_application_updated_at(p))}
	var js *C.char
	if err := call(func() C.int { return C.rm_application_to_json(&js, p) }); err != nil {
		return nil, err
	}
	a.JSON = takeString(js)
	return a, nil
}

// AIModel is an AI model of the registry.
type AIModel struct {
	ID                                              int64
	DisplayName, ModelName, APIProvider, APIKeyName string
	BaseURL                                         *string
	IsActive, LoginRequired                         bool
	DailyLimit                                      int32
	ResponseTimeInfo, Description                   string
	CreatedAt, UpdatedAt                            int64
}

func aiModelOf(p *C.rm_ai_model) *AIModel {
	return &AIModel{ID: int64(C.rm_ai_model_id(p)), DisplayName: C.GoString(C.rm_ai_model_display_name(p)),
		ModelName: C.GoString(C.rm_ai_model_model_name(p)), APIProvider: C.GoString(C.rm_ai_model_api_provider(p)),
		APIKeyName: C.GoString(C.rm_ai_model_api_key_name(p)), BaseURL: optString(C.rm_ai_model_base_url(p)),
		IsActive: C.rm_ai_model_is_active(p) != 0, LoginRequired: C.rm_ai_model_login_required(p) != 0,
		DailyLimit: int32(C.rm_ai_model_daily_limit(p)), ResponseTimeInfo: C.GoString(C.rm_ai_model_response_time_info(p)),
		Description: C.GoString(C.rm_ai_model_description(p)), CreatedAt: int64(C.rm_ai_model_created_at(p)),
		UpdatedAt: int64(C.rm_ai_model_updated_at(p))}
}

// Page is one page of a list: the items, the cursor of the next page ("" if last), and the JSON array.
type Page[T any] struct {
	Items      []T
	NextCursor string
	JSON       string
}

// ---- resumes ----

func (c *Ctx) resume(fn func(ctx *C.rm_ctx, out **C.rm_resume) C.int) (*Resume, error) {
	var p *C.rm_resume
	if err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return fn(ctx, &p) }) }); err != nil {
		return nil, err
	}
	defer C.rm_resume_free(p)
	return resumeOf(p)
}

func (c *Ctx) withWho(who *Principal, fields map[string]any, fn func(*C.rm_principal, *C.rm_fields) error) error {
	return who.use(func(w *C.rm_principal) error {
		if fields == nil {
			return fn(w, nil)
		}
		return withFields(fields, func(f *C.rm_fields) error { return fn(w, f) })
	})
}

// CreateResume creates a resume (title, content).
func (c *Ctx) CreateResume(who *Principal, fields map[string]any) (r *Resume, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		r, err = c.resume(func(ctx *C.rm_ctx, out **C.rm_resume) C.int { return C.rm_resume_create(out, ctx, w, f) })
		return err
	})
	return r, err
}

// GetResume gets one of who's resumes.
func (c *Ctx) GetResume(who *Principal, id int64) (r *Resume, err error) {
	err = c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		r, err = c.resume(func(ctx *C.rm_ctx, out **C.rm_resume) C.int { return C.rm_resume_get(out, ctx, w, C.int64_t(id)) })
		return err
	})
	return r, err
}

// UpdateResume replaces a resume (PUT); PatchResume changes only the given fields.
func (c *Ctx) UpdateResume(who *Principal, id int64, fields map[string]any) (r *Resume, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		r, err = c.resume(func(ctx *C.rm_ctx, out **C.rm_resume) C.int {
			return C.rm_resume_update(out, ctx, w, C.int64_t(id), f)
		})
		return err
	})
	return r, err
}

// PatchResume changes only the given fields of a resume.
func (c *Ctx) PatchResume(who *Principal, id int64, fields map[string]any) (r *Resume, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		r, err = c.resume(func(ctx *C.rm_ctx, out **C.rm_resume) C.int {
			return C.rm_resume_patch(out, ctx, w, C.int64_t(id), f)
		})
		return err
	})
	return r, err
}

// DeleteResume deletes a resume.
func (c *Ctx) DeleteResume(who *Principal, id int64) error {
	return c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			return call(func() C.int { return C.rm_resume_delete(ctx, w, C.int64_t(id)) })
		})
	})
}

// CountResumes counts who's resumes matching l's Search (paging and ordering ignored).
func (c *Ctx) CountResumes(who *Principal, l ListOptions) (int64, error) {
	return c.countOwned(who, l, func(n *C.int64_t, ctx *C.rm_ctx, w *C.rm_principal, o *C.rm_list_options) C.int {
		return C.rm_resume_count(n, ctx, w, o)
	})
}

// countOwned runs one of the library's owner-scoped count calls with l's options.
func (c *Ctx) countOwned(who *Principal, l ListOptions,
	count func(*C.int64_t, *C.rm_ctx, *C.rm_principal, *C.rm_list_options) C.int) (int64, error) {
	opts, free, err := listOptions(l)
	if err != nil {
		return 0, err
	}
	defer free()
	var n C.int64_t
	err = c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			return call(func() C.int { return count(&n, ctx, w, opts) })
		})
	})
	return int64(n), err
}

// ListResumes lists one page of who's resumes, newest first.
func (c *Ctx) ListResumes(who *Principal, l ListOptions) (*Page[*Resume], error) {
	opts, free, err := listOptions(l)
	if err != nil {
		return nil, err
	}
	defer free()
	var pg *C.rm_resume_page
	err = c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			return call(func() C.int { return C.rm_resume_list(&pg, ctx, w, opts) })
		})
	})
	if err != nil {
		return nil, err
	}
	defer C.rm_resume_page_free(pg)
	out := &Page[*Resume]{}
	for i := C.size_t(0); i < C.rm_resume_page_count(pg); i++ {
		r, err := resumeOf(C.rm_resume_page_at(pg, i))
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, r)
	}
	if cur := C.rm_resume_page_next_cursor(pg); cur != nil {
		out.NextCursor = C.GoString(cur)
	}
	var js *C.char
	if err := call(func() C.int { return C.rm_resume_page_to_json(&js, pg) }); err != nil {
		return nil, err
	}
	out.JSON = takeString(js)
	return out, nil
}

// ---- applications and examples ----

func (c *Ctx) application(fn func(ctx *C.rm_ctx, out **C.rm_application) C.int) (*Application, error) {
	var p *C.rm_application
	if err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return fn(ctx, &p) }) }); err != nil {
		return nil, err
	}
	defer C.rm_application_free(p)
	return applicationOf(p)
}

func applicationPage(pg *C.rm_application_page) (*Page[*Application], error) {
	defer C.rm_application_page_free(pg)
	out := &Page[*Application]{}
	for i := C.size_t(0); i < C.rm_application_page_count(pg); i++ {
		a, err := applicationOf(C.rm_application_page_at(pg, i))
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, a)
	}
	if cur := C.rm_application_page_next_cursor(pg); cur != nil {
		out.NextCursor = C.GoString(cur)
	}
	var js *C.char
	if err := call(func() C.int { return C.rm_application_page_to_json(&js, pg) }); err != nil {
		return nil, err
	}
	out.JSON = takeString(js)
	return out, nil
}

// CreateApplication creates a job application.
func (c *Ctx) CreateApplication(who *Principal, fields map[string]any) (a *Application, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		a, err = c.application(func(ctx *C.rm_ctx, out **C.rm_application) C.int {
			return C.rm_application_create(out, ctx, w, f)
		})
		return err
	})
	return a, err
}

// GetApplication gets one of who's applications.
func (c *Ctx) GetApplication(who *Principal, id int64) (a *Application, err error) {
	err = c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		a, err = c.application(func(ctx *C.rm_ctx, out **C.rm_application) C.int {
			return C.rm_application_get(out, ctx, w, C.int64_t(id))
		})
		return err
	})
	return a, err
}

// UpdateApplication updates an application (PUT).
func (c *Ctx) UpdateApplication(who *Principal, id int64, fields map[string]any) (a *Application, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		a, err = c.application(func(ctx *C.rm_ctx, out **C.rm_application) C.int {
			return C.rm_application_update(out, ctx, w, C.int64_t(id), f)
		})
		return err
	})
	return a, err
}

// PatchApplication partially updates an application (PATCH).
func (c *Ctx) PatchApplication(who *Principal, id int64, fields map[string]any) (a *Application, err error) {
	err = c.withWho(who, fields, func(w *C.rm_principal, f *C.rm_fields) error {
		a, err = c.application(func(ctx *C.rm_ctx, out **C.rm_application) C.int {
			return C.rm_application_patch(out, ctx, w, C.int64_t(id), f)
		})
		return err
	})
	return a, err
}

// DeleteApplication soft-deletes an application.
func (c *Ctx) DeleteApplication(who *Principal, id int64) error {
	return c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			return call(func() C.int { return C.rm_application_delete(ctx, w, C.int64_t(id)) })
		})
	})
}

// CountApplications counts who's applications matching l's Status and Search (paging and ordering ignored).
func (c *Ctx) CountApplications(who *Principal, l ListOptions) (int64, error) {
	return c.countOwned(who, l, func(n *C.int64_t, ctx *C.rm_ctx, w *C.rm_principal, o *C.rm_list_options) C.int {
		return C.rm_application_count(n, ctx, w, o)
	})
}

// CountExamples counts the example applications matching l's Search.
func (c *Ctx) CountExamples(l ListOptions) (int64, error) {
	opts, free, err := listOptions(l)
	if err != nil {
		return 0, err
	}
	defer free()
	var n C.int64_t
	err = c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_example_count(&n, ctx, opts) })
	})
	return int64(n), err
}

// ListApplications lists one page of who's applications, newest first.
func (c *Ctx) ListApplications(who *Principal, l ListOptions) (*Page[*Application], error) {
	opts, free, err := listOptions(l)
	if err != nil {
		return nil, err
	}
	defer free()
	var pg *C.rm_application_page
	err = c.withWho(who, nil, func(w *C.rm_principal, _ *C.rm_fields) error {
		return c.use(func(ctx *C.rm_ctx) error {
			return call(func() C.int { return C.rm_application_list(&pg, ctx, w, opts) })
		})
	})
	if err != nil {
		return nil, err
	}
	return applicationPage(pg)
}

// ListExamples lists the example applications.
func (c *Ctx) ListExamples(l ListOptions) (*Page[*Application], error) {
	opts, free, err := listOptions(l)
	if err != nil {
		return nil, err
	}
	defer free()
	var pg *C.rm_application_page
	if err := c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_example_list(&pg, ctx, opts) })
	}); err != nil {
		return nil, err
	}
	return applicationPage(pg)
}

// GetExample gets an example application.
func (c *Ctx) GetExample(id int64) (*Application, error) {
	return c.application(func(ctx *C.rm_ctx, out **C.rm_application) C.int {
		return C.rm_example_get(out, ctx, C.int64_t(id))
	})
}

// SeedExamples seeds the standard examples unless some exist; it says how many were created.
func (c *Ctx) SeedExamples() (int, error) {
	var n C.int
	err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return C.rm_example_seed(ctx, &n) }) })
	return int(n), err
}

// ---- AI models ----

func (c *Ctx) aiModel(fn func(ctx *C.rm_ctx, out **C.rm_ai_model) C.int) (*AIModel, error) {
	var p *C.rm_ai_model
	if err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return fn(ctx, &p) }) }); err != nil {
		return nil, err
	}
	defer C.rm_ai_model_free(p)
	return aiModelOf(p), nil
}

// CreateAIModel registers a model.
func (c *Ctx) CreateAIModel(fields map[string]any) (m *AIModel, err error) {
	err = withFields(fields, func(f *C.rm_fields) error {
		m, err = c.aiModel(func(ctx *C.rm_ctx, out **C.rm_ai_model) C.int { return C.rm_ai_model_create(out, ctx, f) })
		return err
	})
	return m, err
}

// UpdateAIModel changes some fields of a model.
func (c *Ctx) UpdateAIModel(displayName string, fields map[string]any) (m *AIModel, err error) {
	cs, free, err := cstrs(displayName)
	if err != nil {
		return nil, err
	}
	defer free()
	err = withFields(fields, func(f *C.rm_fields) error {
		m, err = c.aiModel(func(ctx *C.rm_ctx, out **C.rm_ai_model) C.int {
			return C.rm_ai_model_update(out, ctx, cs[0], f)
		})
		return err
	})
	return m, err
}

// GetAIModel gets a model by display name (case-insensitive).
func (c *Ctx) GetAIModel(displayName string) (*AIModel, error) {
	cs, free, err := cstrs(displayName)
	if err != nil {
		return nil, err
	}
	defer free()
	return c.aiModel(func(ctx *C.rm_ctx, out **C.rm_ai_model) C.int { return C.rm_ai_model_get(out, ctx, cs[0]) })
}

// DeactivateAIModel deactivates a model.
func (c *Ctx) DeactivateAIModel(displayName string) error {
	cs, free, err := cstrs(displayName)
	if err != nil {
		return err
	}
	defer free()
	return c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return C.rm_ai_model_deactivate(ctx, cs[0]) }) })
}

// ListAIModels lists models by display name; JSON is the public view.
func (c *Ctx) ListAIModels(includeInactive bool) (*Page[*AIModel], error) {
	inc := C.int(0)
	if includeInactive {
		inc = 1
	}
	var pg *C.rm_ai_model_page
	if err := c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_ai_model_list(&pg, ctx, inc) })
	}); err != nil {
		return nil, err
	}
	defer C.rm_ai_model_page_free(pg)
	out := &Page[*AIModel]{}
	for i := C.size_t(0); i < C.rm_ai_model_page_count(pg); i++ {
		out.Items = append(out.Items, aiModelOf(C.rm_ai_model_page_at(pg, i)))
	}
	var js *C.char
	if err := call(func() C.int { return C.rm_ai_model_page_public_json(&js, pg) }); err != nil {
		return nil, err
	}
	out.JSON = takeString(js)
	return out, nil
}

var _ = unsafe.Pointer(nil)
