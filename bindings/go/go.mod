module resumate

go 1.21
