module resumate-example-basic

go 1.21

require resumate v0.0.0

replace resumate => ../../../bindings/go
