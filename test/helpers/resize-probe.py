# Runs a command on a pseudo-terminal of 30x100, waits for "30 100" in its output, resizes the terminal to 40x120
# (the kernel sends SIGWINCH to its foreground processes), types "x" and a newline, and prints all it read and
# its exit code. Node has no pseudo-terminals of its own; Python's standard library has.
import fcntl, os, select, struct, subprocess, sys, termios, time

def resize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

master, slave = os.openpty()
resize(slave, 30, 100)
child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
os.close(slave)
seen = b''

def read_until(token, seconds=20):
    global seen
    deadline = time.time() + seconds
    while token not in seen and time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                return

read_until(b'30 100')
resize(master, 40, 120)
time.sleep(0.3)
os.write(master, b'x\n')
read_until(b'40 120')
code = child.wait(timeout=20)
sys.stdout.write(seen.decode(errors='replace'))
sys.stdout.write('exit=%d\n' % code)
