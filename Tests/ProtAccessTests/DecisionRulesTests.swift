import Glibc
import ProtAccess
import ProtContainer
import ProtLedger
import ProtPolicy
import ProtSystem
import Testing

/// What the matrix does not show: expiry, retired labels, per-file grants, handles judged again, the rows
/// themselves and which of them an operation must wait for.
@Suite struct DecisionRulesTests {
    let alice = Fixture.users["alice"]!, bob = Fixture.users["bob"]!, carol = Fixture.users["carol"]!
    let path = Fixture.path("/finance/q3.txt")
    let second: Int64 = 1_000_000_000

    func allowed(_ d: AccessDecision) -> Allowed? { if case .success(let a) = d { a } else { nil } }
    func refused(_ d: AccessDecision) -> Refused? { if case .failure(let r) = d { r } else { nil } }

    @Test func expiredContentKeepsOnlyItsOwners() {
        let now = currentTimeNanos()
        let past = Fixture.header("temp", owner: alice.uid, labeledAt: now - 10 * second, expiry: now - 8 * second)
        let d = Fixture.decider()
        let read = refused(d.decide(AccessRequest(bob, .open(flags: O_RDONLY), on: .file(past), path: path), now: now))
        #expect(read?.errno == EACCES)
        #expect(read?.row.detail?.hasSuffix("; content expired") == true)
        #expect(
            allowed(d.decide(AccessRequest(alice, .open(flags: O_RDWR), on: .file(past), path: path), now: now))
                != nil)
        let fresh = Fixture.header("temp", owner: alice.uid, labeledAt: now, expiry: now + 2 * second)
        #expect(
            allowed(d.decide(AccessRequest(bob, .open(flags: O_RDONLY), on: .file(fresh), path: path), now: now))
                != nil)
    }

    @Test func aRetiredLabelGivesNobodyAnything() {
        let gone = Fixture.header("conf/legal", owner: alice.uid)
        let d = Fixture.decider()
        for caller in Fixture.users.values {
            #expect(
                refused(d.decide(AccessRequest(caller, .open(flags: O_RDONLY), on: .file(gone), path: path)))
                    != nil)
        }
        // Its owner cannot relabel it either: that needs `owner`, which only a label can give.
        let up = refused(
            d.decide(
                AccessRequest(
                    alice, .relabel(to: "conf/hr", justification: nil), on: .file(gone),
                    path: path)))
        #expect(up?.errno == EACCES)
    }

    @Test func perFileGrantsCountUntilTheyExpireOrAreRevoked() {
        let now = currentTimeNanos()
        let share: [UInt8] = Array(repeating: 9, count: 16)
        let toBob = Grant(identity: "uid:\(bob.uid)", rights: Rights.view.rawValue, shareId: share)
        let toHR = Grant(identity: "gid:3002", rights: Rights.view.rawValue, expiry: now + second, shareId: share)
        let f = Fixture.header("conf/fin", owner: alice.uid, grants: [toBob, toHR])
        let revocations = Revocations()
        let d = Fixture.decider(revocations: revocations)
        func can(_ c: Caller, _ flags: Int32, at t: Int64 = now) -> Bool {
            allowed(d.decide(AccessRequest(c, .open(flags: flags), on: .file(f), path: path), now: t)) != nil
        }
        #expect(can(bob, O_RDONLY) && !can(bob, O_WRONLY))
        #expect(can(carol, O_RDONLY) && !can(carol, O_RDONLY, at: now + 2 * second))
        revocations.revoke(shareId: share, grantee: "uid:\(bob.uid)")
        #expect(!can(bob, O_RDONLY) && can(carol, O_RDONLY))
        revocations.revoke(shareId: share, grantee: nil)
        #expect(!can(carol, O_RDONLY))
    }

    @Test func aHandleOpenedBeforeARaiseIsRefusedAndSaysSo() {
        let d = Fixture.decider()
        let r = refused(
            d.decide(
                AccessRequest(
                    bob, .onHandle(.view, call: "read"),
                    on: .judged([], label: "conf/fin"), path: path)))
        #expect(
            r?.row.detail == "read on a handle opened before the label became conf/fin needs view; "
                + "caller holds none")
        #expect(
            allowed(
                d.decide(
                    AccessRequest(
                        bob, .onHandle(.edit, call: "write"),
                        on: .judged([.view, .edit], label: "general"), path: path)))?.row == nil)
    }

    @Test func relabelRules() {
        let d = Fixture.decider()
        let f = Subject.file(Fixture.header("conf/fin", owner: alice.uid))
        func ask(_ to: String, _ why: String? = nil) -> AccessDecision {
            d.decide(AccessRequest(alice, .relabel(to: to, justification: why), on: f, path: path))
        }
        #expect(refused(ask("conf/nope"))?.errno == EINVAL)
        #expect(refused(ask("conf"))?.errno == EINVAL)  // a heading is never applied
        #expect(refused(ask("general"))?.errno == EPERM)
        let down = allowed(ask("general", "published"))
        #expect(down?.row?.detail == "manual; justification: published" && down?.row?.previousLabel == "conf/fin")
        #expect(allowed(ask("conf/fin")) != nil && allowed(ask("conf/fin"))?.row == nil)
    }

    @Test func movesMeetBothFoldersAndTheReplacedFile() {
        let d = Fixture.decider()
        let mine = Subject.file(Fixture.header("general", owner: bob.uid))
        let hers = Fixture.header("conf/fin", owner: alice.uid)
        let into = Fixture.path("/finance/x.txt"), from = Fixture.path("/general/x.txt")
        let move = refused(
            d.decide(
                AccessRequest(
                    bob, .rename(replaced: nil, crossesFolders: true, exchange: false),
                    on: mine, path: from, newPath: into)))
        #expect(move?.row.label == "conf/fin" && move?.row.newPath == into)
        // alice may bring her file into finance, but not swap it with a general file for bob... and bob may
        // not replace her file in general.
        let swap = refused(
            d.decide(
                AccessRequest(
                    bob, .rename(replaced: hers, crossesFolders: false, exchange: false),
                    on: mine, path: from, newPath: Fixture.path("/general/y.txt"))))
        #expect(swap?.row.path == Fixture.path("/general/y.txt") && swap?.row.label == "conf/fin")
        let exchange = Action.rename(replaced: nil, crossesFolders: true, exchange: true)
        let fin = Subject.file(Fixture.header("conf/fin", owner: alice.uid))
        #expect(allowed(d.decide(AccessRequest(alice, exchange, on: fin, path: into, newPath: from))) != nil)
        #expect(
            refused(d.decide(AccessRequest(carol, .link, on: mine, path: from, newPath: into)))?.row.label
                == "conf/fin")
    }

    @Test func sharingNeedsTheRightAndGivesNoMore() {
        let d = Fixture.decider()
        let g = Subject.file(Fixture.header("general", owner: alice.uid))
        #expect(allowed(d.decide(AccessRequest(bob, .share(asked: .view), on: g, path: path))) != nil)
        let more = refused(d.decide(AccessRequest(bob, .share(asked: [.view, .export]), on: g, path: path)))
        #expect(more?.row.detail?.hasPrefix("share of view,export exceeds") == true)
        let pub = Subject.file(Fixture.header("public", owner: alice.uid))
        #expect(
            refused(d.decide(AccessRequest(bob, .share(asked: .view), on: pub, path: path)))?.row.detail
                == "share needs share; caller holds view,edit,export")
        let revoke = Action.revoke(sharerUid: carol.uid, shareId: "ab")
        #expect(
            allowed(
                d.decide(
                    AccessRequest(
                        carol, revoke, on: .unopened(label: "general", owner: alice.uid),
                        path: path))) != nil)
        #expect(
            refused(
                d.decide(
                    AccessRequest(
                        bob, revoke, on: .unopened(label: "general", owner: alice.uid),
                        path: path))) != nil)
        #expect(
            allowed(
                d.decide(
                    AccessRequest(
                        alice, revoke, on: .unopened(label: "general", owner: alice.uid),
                        path: path))) != nil)
    }

    @Test func theLedgerModeSaysWhichRowsAreWaitedFor() {
        let f = Subject.file(Fixture.header("general", owner: bob.uid))
        let open = AccessRequest(bob, .open(flags: O_RDONLY), on: f, path: path)
        let create = AccessRequest(bob, .create, path: Fixture.path("/general/n.txt"))
        let rename = AccessRequest(
            bob, .rename(replaced: nil, crossesFolders: false, exchange: false), on: f,
            path: path, newPath: Fixture.path("/general/m.txt"))
        let expected: [(LedgerMode, [Bool])] = [
            (.grants, [true, true, false]), (.sync, [true, true, true]),
            (.writeBehind, [false, false, false])
        ]
        for (mode, waits) in expected {
            let got = [open, create, rename].map { allowed(Fixture.decider(mode).decide($0))?.waits }
            #expect(got == waits, "\(mode)")
        }
        let row = allowed(Fixture.decider().decide(create))?.row
        #expect(row?.kind == .create && row?.label == "general" && row?.detail == "labeled by folder")
    }

    @Test func attributeChangesNeedEditOrOwner() {
        let d = Fixture.decider()
        let f = Subject.file(Fixture.header("general", owner: alice.uid))
        let size = AttributeChange(size: 10)
        let row = allowed(d.decide(AccessRequest(bob, .setattr(size), on: f, path: path)))?.row
        #expect(row?.kind == .setattr && row?.detail == "size 10")
        #expect(
            refused(d.decide(AccessRequest(bob, .setattr(AttributeChange(gid: 5)), on: f, path: path)))?.row.detail
                == "setattr needs owner; caller holds view,edit,share")
        let grow = AttributeChange(size: 4096, via: "fallocate")
        #expect(
            allowed(
                d.decide(
                    AccessRequest(
                        bob, .setattr(grow), on: .judged([.edit], label: "general"),
                        path: path)))?.row?.detail == "size 4096 (fallocate)")
        // Folders, links and special files: mode bits decide, the kernel checks them; nothing to record.
        #expect(allowed(d.decide(AccessRequest(bob, .setattr(AttributeChange(mode: 0o700)), path: path)))?.row == nil)
    }
}
