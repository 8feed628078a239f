// Command basic is the examples/basic.c tour through the Go binding: open SQLite, register,
// authenticate, create a resume and an application, list them.
//
//	cd examples/go/basic && PKG_CONFIG_PATH=<prefix>/lib/pkgconfig go run .
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"resumate"
)

func main() {
	dir, err := os.MkdirTemp("", "resumate-basic-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "resumate.db")
	fmt.Printf("libresumate %s, database %s\n", resumate.Version(), db)

	storage, err := resumate.OpenSQLite(db)
	if err != nil {
		log.Fatal(err)
	}
	defer storage.Close()
	ctx, err := resumate.NewCtx(resumate.Options{Storage: storage})
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	_, err = ctx.Register(map[string]any{"username": "bob", "email": "bob@example.com", "password": "12345678", "password2": "12345678"})
	var v *resumate.ValidationError
	if !errors.As(err, &v) {
		log.Fatalf("a weak password gave %v", err)
	}
	fmt.Println("weak password refused:", v.Fields)

	pw := "correct-horse-battery"
	user, err := ctx.Register(map[string]any{"username": "alice", "email": "alice@example.com", "password": pw, "password2": pw})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("registered user %d: %s <%s>\n", user.ID, user.Username, user.Email)
	if _, err := ctx.Authenticate("alice", "wrong password"); !errors.Is(err, resumate.ErrAuth) {
		log.Fatalf("a wrong password gave %v", err)
	}
	who, err := ctx.Authenticate("alice", pw)
	if err != nil {
		log.Fatal(err)
	}
	defer who.Close()
	fmt.Printf("authenticated as %s (user %d)\n", who.Username(), who.UserID())

	resume, err := ctx.CreateResume(who, map[string]any{"title": "Backend engineer", "content": "# Alice\n\nC, SQL and distributed systems."})
	if err != nil {
		log.Fatal(err)
	}
	app, err := ctx.CreateApplication(who, map[string]any{"job_title": "Senior C developer", "company_name": "Example Corp",
		"date_applied": "2025-07-24", "status": "Applied", "resume_used": resume.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created resume %d and application %d (status %s)\n", resume.ID, app.ID, app.Status)

	resumes, err := ctx.ListResumes(who, resumate.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d resume(s): %s\n", len(resumes.Items), resumes.JSON)
	apps, err := ctx.ListApplications(who, resumate.ListOptions{Status: "Applied"})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range apps.Items {
		fmt.Printf("application %d: %s at %s, applied %s, resume %d\n", a.ID, *a.JobTitle, *a.CompanyName, *a.DateApplied, a.ResumeUsed)
	}
	if len(resumes.Items) != 1 || len(apps.Items) != 1 {
		log.Fatal("expected one resume and one application")
	}
	fmt.Println("done")
}
