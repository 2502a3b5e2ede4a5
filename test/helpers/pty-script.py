# Runs a command on a pseudo-terminal of 30x100 and plays a script against it, given as JSON in $PTY_SCRIPT:
# ["wait", TEXT] waits for TEXT in the output (after what earlier waits matched), ["send", TEXT] types it,
# ["until", TEXT, SEND] types SEND again every second until TEXT comes (a resize travels apart from the keys),
# ["resize", ROWS, COLS] resizes the terminal (the kernel sends SIGWINCH to its foreground group), ["kill"]
# SIGKILLs the command. Prints all it read, then the terminal's name and the command's exit code. Node has no pseudo-terminals.
import fcntl, json, os, select, signal, struct, subprocess, sys, termios, time

def resize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

master, slave = os.openpty()
resize(slave, 30, 100)
child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
name = os.ttyname(slave)
os.close(slave)
seen = b''
mark = 0

def pump(seconds):
    global seen
    ready, _, _ = select.select([master], [], [], seconds)
    if ready:
        try:
            seen += os.read(master, 4096)
        except OSError:
            return False
    return True

def wait_for(token, seconds=30, again=None):
    global mark
    deadline = time.time() + seconds
    poke = time.time() + 1
    while time.time() < deadline:
        if again is not None and time.time() > poke:
            os.write(master, again)
            poke = time.time() + 1
        at = seen.find(token, mark)
        if at >= 0:
            mark = at + len(token)
            return
        if not pump(0.2):
            break
    sys.stdout.write(seen.decode(errors='replace'))
    sys.stdout.write('\ntimed out waiting for %r\n' % token)
    child.kill()
    sys.exit(3)

for step in json.loads(os.environ['PTY_SCRIPT']):
    if step[0] == 'wait':
        wait_for(step[1].encode())
    elif step[0] == 'until':
        os.write(master, step[2].encode())
        wait_for(step[1].encode(), again=step[2].encode())
    elif step[0] == 'send':
        os.write(master, step[1].encode())
    elif step[0] == 'resize':
        resize(master, step[1], step[2])
    elif step[0] == 'kill':
        child.send_signal(signal.SIGKILL)

deadline = time.time() + 30
while child.poll() is None and time.time() < deadline:
    pump(0.1)
while pump(0.05) and select.select([master], [], [], 0)[0]:
    pass
code = child.wait(timeout=5)
sys.stdout.write(seen.decode(errors='replace'))
sys.stdout.write('\npty=%s exit=%d\n' % (name, code))
