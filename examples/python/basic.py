"""basic.py — the examples/basic.c tour through the Python binding.

Opens a SQLite database in a temporary directory, registers a user, authenticates, creates a resume
and a job application that used it, and lists both.  Run: python3 examples/python/basic.py
"""
import os
import sys
import tempfile

import resumate


def main():
    with tempfile.TemporaryDirectory(prefix="resumate-basic-") as tmp:
        db = os.path.join(tmp, "resumate.db")
        print(f"libresumate {resumate.version()}, database {db}")
        with resumate.Storage.open_sqlite(db) as storage, resumate.Ctx(storage=storage) as ctx:
            try:
                ctx.register(username="bob", email="bob@example.com", password="12345678", password2="12345678")
                raise SystemExit("a weak password was accepted")
            except resumate.ValidationError as e:
                print("weak password refused:", e.fields)

            user = ctx.register(username="alice", email="alice@example.com",
                                password="correct-horse-battery", password2="correct-horse-battery")
            print(f"registered user {user.id}: {user.username} <{user.email}>")
            try:
                ctx.authenticate("alice", "wrong password")
                raise SystemExit("a wrong password was accepted")
            except resumate.AuthError:
                pass
            with ctx.authenticate("alice", "correct-horse-battery") as who:
                print(f"authenticated as {who.username} (user {who.user_id})")
                resume = ctx.create_resume(who, title="Backend engineer",
                                           content="# Alice\n\nC, SQL and distributed systems.")
                app = ctx.create_application(who, job_title="Senior C developer", company_name="Example Corp",
                                             date_applied="2025-07-24", status="Applied", resume_used=resume.id)
                print(f"created resume {resume.id} and application {app.id} (status {app.status})")
                resumes = ctx.list_resumes(who)
                print(f"{len(resumes)} resume(s): {resumes.to_json()}")
                apps = ctx.list_applications(who, status="Applied")
                for a in apps:
                    print(f"application {a.id}: {a.job_title} at {a.company_name}, applied {a.date_applied}, "
                          f"resume {a.resume_used}")
                if len(resumes) != 1 or len(apps) != 1:
                    raise SystemExit("expected one resume and one application")
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
