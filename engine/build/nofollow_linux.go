package build

import "syscall"

const syscallNoFollow = syscall.O_NOFOLLOW
