import Foundation
import Glibc
import ProtSystem

/// Runs a command with bytes on its stdin and waits (bounded) for it: the notification command.
enum Subprocess {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func run(_ argv: [String], stdin input: [UInt8], timeoutSeconds: Int = 30) throws {
        guard !argv.isEmpty else { throw Failure(description: "empty command") }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cargs, environ)
        close(fds[0])
        guard rc == 0 else { close(fds[1]); throw Failure(description: "\(argv[0]): \(String(cString: strerror(rc)))") }
        signal(SIGPIPE, SIG_IGN)
        _ = input.withUnsafeBytes { writeAll(fds[1], $0) }
        close(fds[1])
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL); waitpid(pid, &status, 0); throw Failure(description: "\(argv[0]) timed out")
            }
            usleep(10_000)
        }
        let exited = (status & 0x7f) == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Failure(
                description: "\(argv[0]) exited with \(exited ? "status \(code)" : "signal \(status & 0x7f)")")
        }
    }
}
