package resumate

/*
#include <resumate/resumate.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// ---- principals ----

// Principal is who is calling: a user or anonymous.
type Principal struct{ h handle }

func newPrincipal(p *C.rm_principal) *Principal {
	w := &Principal{h: handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_principal_free((*C.rm_principal)(p)) }}}
	runtime.SetFinalizer(w, (*Principal).Close)
	return w
}

// AnonymousPrincipal is the anonymous caller.
func AnonymousPrincipal() (*Principal, error) {
	var p *C.rm_principal
	if err := call(func() C.int { return C.rm_principal_anonymous(&p) }); err != nil {
		return nil, err
	}
	return newPrincipal(p), nil
}

// PrincipalForUser acts as the given user (the caller vouches for the identity).
func PrincipalForUser(u *User) (*Principal, error) {
	if u == nil {
		return nil, misuse("nil User")
	}
	var p *C.rm_principal
	err := u.h.use(func(up unsafe.Pointer) error {
		return call(func() C.int { return C.rm_principal_for_user(&p, (*C.rm_user)(up)) })
	})
	if err != nil {
		return nil, err
	}
	return newPrincipal(p), nil
}

// Dup copies a principal.
func (w *Principal) Dup() (*Principal, error) {
	var p *C.rm_principal
	err := w.use(func(wp *C.rm_principal) error { return call(func() C.int { return C.rm_principal_dup(&p, wp) }) })
	if err != nil {
		return nil, err
	}
	return newPrincipal(p), nil
}

func (w *Principal) use(fn func(*C.rm_principal) error) error {
	if w == nil {
		return misuse("nil Principal")
	}
	return w.h.use(func(p unsafe.Pointer) error { return fn((*C.rm_principal)(p)) })
}

// Close frees the principal.
func (w *Principal) Close() { w.h.close() }

// IsAnonymous reports whether this is the anonymous caller (true for a closed principal too).
func (w *Principal) IsAnonymous() bool {
	v := true
	_ = w.use(func(p *C.rm_principal) error { v = C.rm_principal_is_anonymous(p) != 0; return nil })
	return v
}

// UserID is the user's id, 0 for anonymous.
func (w *Principal) UserID() int64 {
	var v int64
	_ = w.use(func(p *C.rm_principal) error { v = int64(C.rm_principal_user_id(p)); return nil })
	return v
}

// Username is the user's name, "" for anonymous.
func (w *Principal) Username() string {
	var v string
	_ = w.use(func(p *C.rm_principal) error { v = C.GoString(C.rm_principal_username(p)); return nil })
	return v
}

// IsStaff reports whether the user is staff.
func (w *Principal) IsStaff() bool {
	var v bool
	_ = w.use(func(p *C.rm_principal) error { v = C.rm_principal_is_staff(p) != 0; return nil })
	return v
}

// ---- users ----

// User is a user record; the fields are copied out of the library.
type User struct {
	ID                int64
	Username          string
	Email             string
	IsActive          bool
	IsStaff           bool
	IsSuperuser       bool
	DateJoined        int64
	HasUsablePassword bool
	h                 handle
}

func newUser(p *C.rm_user) *User {
	u := &User{
		ID: int64(C.rm_user_id(p)), Username: C.GoString(C.rm_user_username(p)), Email: C.GoString(C.rm_user_email(p)),
		IsActive: C.rm_user_is_active(p) != 0, IsStaff: C.rm_user_is_staff(p) != 0,
		IsSuperuser: C.rm_user_is_superuser(p) != 0, DateJoined: int64(C.rm_user_date_joined(p)),
		HasUsablePassword: C.rm_user_has_usable_password(p) != 0,
		h:                 handle{ptr: unsafe.Pointer(p), free: func(p unsafe.Pointer) { C.rm_user_free((*C.rm_user)(p)) }},
	}
	runtime.SetFinalizer(u, (*User).Close)
	return u
}

// Close frees the C record (the Go fields stay readable).
func (u *User) Close() { u.h.close() }

func (c *Ctx) user(fn func(ctx *C.rm_ctx, out **C.rm_user) C.int) (*User, error) {
	var p *C.rm_user
	err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return fn(ctx, &p) }) })
	if err != nil {
		return nil, err
	}
	return newUser(p), nil
}

// Register registers a user (username, email, password, password2).
func (c *Ctx) Register(fields map[string]any) (*User, error) {
	var u *User
	err := withFields(fields, func(f *C.rm_fields) error {
		var err error
		u, err = c.user(func(ctx *C.rm_ctx, out **C.rm_user) C.int { return C.rm_user_register(out, ctx, f) })
		return err
	})
	return u, err
}

// User flags for CreateUser.
const (
	UserStaff     = uint(C.RM_USER_STAFF)
	UserSuperuser = uint(C.RM_USER_SUPERUSER)
	UserInactive  = uint(C.RM_USER_INACTIVE)
)

// CreateUser creates a user administratively; an empty password makes it unusable.
func (c *Ctx) CreateUser(username, email, password string, flags uint) (*User, error) {
	cs, free, err := cstrs(username, email, password)
	if err != nil {
		return nil, err
	}
	defer free()
	pw := cs[2]
	if password == "" {
		pw = nil
	}
	return c.user(func(ctx *C.rm_ctx, out **C.rm_user) C.int {
		return C.rm_user_create(out, ctx, cs[0], cs[1], pw, C.uint(flags))
	})
}

// Authenticate checks a username and password (ErrAuth).
func (c *Ctx) Authenticate(username, password string) (*Principal, error) {
	cs, free, err := cstrs(username, password)
	if err != nil {
		return nil, err
	}
	defer free()
	var p *C.rm_principal
	err = c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_user_authenticate(&p, ctx, cs[0], cs[1]) })
	})
	if err != nil {
		return nil, err
	}
	return newPrincipal(p), nil
}

// GetUser gets a user by id.
func (c *Ctx) GetUser(id int64) (*User, error) {
	return c.user(func(ctx *C.rm_ctx, out **C.rm_user) C.int { return C.rm_user_get(out, ctx, C.int64_t(id)) })
}

// GetUserByUsername gets a user by exact username.
func (c *Ctx) GetUserByUsername(username string) (*User, error) {
	cs, free, err := cstrs(username)
	if err != nil {
		return nil, err
	}
	defer free()
	return c.user(func(ctx *C.rm_ctx, out **C.rm_user) C.int { return C.rm_user_get_by_username(out, ctx, cs[0]) })
}

// AnonymousUser is the inactive user owning anonymous generations.
func (c *Ctx) AnonymousUser() (*User, error) {
	return c.user(func(ctx *C.rm_ctx, out **C.rm_user) C.int { return C.rm_user_anonymous(out, ctx) })
}

// SetPassword changes a password (password rules apply).
func (c *Ctx) SetPassword(userID int64, newPassword string) error {
	cs, free, err := cstrs(newPassword)
	if err != nil {
		return err
	}
	defer free()
	return c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_user_set_password(ctx, C.int64_t(userID), cs[0]) })
	})
}

// DeactivateUser deactivates a user.
func (c *Ctx) DeactivateUser(userID int64) error {
	return c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_user_deactivate(ctx, C.int64_t(userID)) })
	})
}

// ---- tokens ----

// TokenPair is an access token and (except after a refresh without rotation) a refresh token.
type TokenPair struct {
	Access  string
	Refresh string
}

func (c *Ctx) tokens(fn func(ctx *C.rm_ctx, out **C.rm_token_pair) C.int) (*TokenPair, error) {
	var p *C.rm_token_pair
	err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return fn(ctx, &p) }) })
	if err != nil {
		return nil, err
	}
	defer C.rm_token_pair_free(p)
	t := &TokenPair{Access: C.GoString(C.rm_token_pair_access(p))}
	if r := C.rm_token_pair_refresh(p); r != nil {
		t.Refresh = C.GoString(r)
	}
	return t, nil
}

// ObtainTokens issues tokens for a principal's user.
func (c *Ctx) ObtainTokens(who *Principal) (*TokenPair, error) {
	var t *TokenPair
	err := who.use(func(w *C.rm_principal) error {
		var err error
		t, err = c.tokens(func(ctx *C.rm_ctx, out **C.rm_token_pair) C.int { return C.rm_token_obtain(out, ctx, w) })
		return err
	})
	return t, err
}

// Login authenticates and issues tokens.
func (c *Ctx) Login(username, password string) (*TokenPair, error) {
	cs, free, err := cstrs(username, password)
	if err != nil {
		return nil, err
	}
	defer free()
	return c.tokens(func(ctx *C.rm_ctx, out **C.rm_token_pair) C.int { return C.rm_token_login(out, ctx, cs[0], cs[1]) })
}

// RefreshTokens exchanges a refresh token for a new access token.
func (c *Ctx) RefreshTokens(refresh string) (*TokenPair, error) {
	cs, free, err := cstrs(refresh)
	if err != nil {
		return nil, err
	}
	defer free()
	return c.tokens(func(ctx *C.rm_ctx, out **C.rm_token_pair) C.int { return C.rm_token_refresh(out, ctx, cs[0]) })
}

// AuthenticateToken verifies an access token (ErrToken with a Reason).
func (c *Ctx) AuthenticateToken(access string) (*Principal, error) {
	cs, free, err := cstrs(access)
	if err != nil {
		return nil, err
	}
	defer free()
	var p *C.rm_principal
	err = c.use(func(ctx *C.rm_ctx) error {
		return call(func() C.int { return C.rm_token_authenticate(&p, ctx, cs[0]) })
	})
	if err != nil {
		return nil, err
	}
	return newPrincipal(p), nil
}

// RevokeToken denylists a refresh token (logout).
func (c *Ctx) RevokeToken(refresh string) error {
	cs, free, err := cstrs(refresh)
	if err != nil {
		return err
	}
	defer free()
	return c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return C.rm_token_revoke(ctx, cs[0]) }) })
}

// PruneTokens removes expired denylist entries and says how many.
func (c *Ctx) PruneTokens() (int64, error) {
	var n C.int64_t
	err := c.use(func(ctx *C.rm_ctx) error { return call(func() C.int { return C.rm_token_prune(ctx, &n) }) })
	return int64(n), err
}
