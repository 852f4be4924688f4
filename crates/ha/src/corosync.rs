//! The two corosync client APIs the cluster lock needs, loaded at run time with dlopen:
//! libquorum (is this node in the quorate partition? told the instant it changes) and libcpg
//! (closed process groups: a membership list that every member sees change in the same order).
//!
//! dlopen instead of linking: the workspace builds without corosync's -dev packages, and on a
//! node without corosync the helper reports an error ('3') instead of failing to start. The
//! runtime libraries (libquorum5, libcpg4) come with the `corosync` package on every PVE node.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::Mutex;

use smbgw_core::{Error, Result};

// corotypes.h
const CS_OK: c_int = 1;
const CS_ERR_TRY_AGAIN: c_int = 6;
const CS_DISPATCH_ALL: c_int = 2;
const CS_TRACK_CHANGES: c_uint = 2;
// quorum.h: no quorum provider configured
const QUORUM_FREE: u32 = 0;
const CPG_MAX_NAME_LENGTH: usize = 128;

type Handle = u64;

#[repr(C)]
struct QuorumCallbacks {
    notify: Option<extern "C" fn(Handle, u32, u64, u32, *const u32)>,
}

#[repr(C)]
struct CpgName {
    length: u32,
    value: [c_char; CPG_MAX_NAME_LENGTH],
}

#[repr(C)]
struct CpgAddress {
    nodeid: u32,
    pid: u32,
    reason: u32,
}

type ConfchgFn =
    extern "C" fn(Handle, *const CpgName, *const CpgAddress, usize, *const CpgAddress, usize, *const CpgAddress, usize);

#[repr(C)]
struct CpgCallbacks {
    deliver: Option<extern "C" fn(Handle, *const CpgName, u32, u32, *mut c_void, usize)>,
    confchg: Option<ConfchgFn>,
}

/// What the callbacks saw. The helper is single-threaded; the mutex only makes the statics sound.
#[derive(Clone, Debug, Default)]
pub struct Events {
    pub quorate: Option<bool>,
    /// The group's members (nodeid, pid) after the latest configuration change.
    pub members: Option<Vec<(u32, u32)>>,
}

static EVENTS: Mutex<Events> = Mutex::new(Events {
    quorate: None,
    members: None,
});

pub fn events() -> Events {
    EVENTS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

extern "C" fn on_quorum(_: Handle, quorate: u32, _ring_seq: u64, _n: u32, _view: *const u32) {
    EVENTS.lock().unwrap_or_else(|e| e.into_inner()).quorate = Some(quorate != 0);
}

extern "C" fn on_confchg(
    _: Handle,
    _: *const CpgName,
    members: *const CpgAddress,
    n: usize,
    _: *const CpgAddress,
    _: usize,
    _: *const CpgAddress,
    _: usize,
) {
    let list = if n == 0 || members.is_null() {
        Vec::new()
    } else {
        // SAFETY: corosync passes `n` valid entries for the duration of the callback
        unsafe { std::slice::from_raw_parts(members, n) }
            .iter()
            .map(|a| (a.nodeid, a.pid))
            .collect()
    };
    EVENTS.lock().unwrap_or_else(|e| e.into_inner()).members = Some(list);
}

extern "C" fn on_deliver(_: Handle, _: *const CpgName, _: u32, _: u32, _: *mut c_void, _: usize) {}

struct Library(*mut c_void);

impl Library {
    fn open(name: &CStr) -> Result<Self> {
        // SAFETY: plain dlopen of a system library
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(Error::system(format!(
                "cannot load {} (is corosync installed?): {}",
                name.to_string_lossy(),
                dlerror()
            )));
        }
        Ok(Self(handle))
    }

    /// # Safety
    /// `T` must be the function pointer type of the symbol.
    unsafe fn get<T: Copy>(&self, name: &CStr) -> Result<T> {
        let sym = libc::dlsym(self.0, name.as_ptr());
        if sym.is_null() {
            return Err(Error::system(format!(
                "symbol {} missing: {}",
                name.to_string_lossy(),
                dlerror()
            )));
        }
        Ok(std::mem::transmute_copy(&sym))
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns a thread-local string or NULL
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned()
    }
}

fn check(what: &str, rc: c_int) -> Result<()> {
    if rc == CS_OK {
        Ok(())
    } else {
        Err(Error::external(format!("corosync {what} failed (cs_error {rc})")))
    }
}

/// A connection to corosync's quorum service, tracking changes.
pub struct Quorum {
    handle: Handle,
    fd: c_int,
    dispatch: unsafe extern "C" fn(Handle, c_int) -> c_int,
    finalize: unsafe extern "C" fn(Handle) -> c_int,
    _lib: Library,
}

impl Quorum {
    pub fn connect() -> Result<Self> {
        let lib = Library::open(c"libquorum.so.5")?;
        // SAFETY: the signatures follow corosync's quorum.h
        unsafe {
            let initialize: unsafe extern "C" fn(*mut Handle, *mut QuorumCallbacks, *mut u32) -> c_int =
                lib.get(c"quorum_initialize")?;
            let getquorate: unsafe extern "C" fn(Handle, *mut c_int) -> c_int = lib.get(c"quorum_getquorate")?;
            let fd_get: unsafe extern "C" fn(Handle, *mut c_int) -> c_int = lib.get(c"quorum_fd_get")?;
            let trackstart: unsafe extern "C" fn(Handle, c_uint) -> c_int = lib.get(c"quorum_trackstart")?;
            let mut q = Quorum {
                handle: 0,
                fd: -1,
                dispatch: lib.get(c"quorum_dispatch")?,
                finalize: lib.get(c"quorum_finalize")?,
                _lib: lib,
            };
            let mut callbacks = QuorumCallbacks {
                notify: Some(on_quorum),
            };
            let mut kind = 0u32;
            check(
                "quorum_initialize (is corosync running?)",
                initialize(&mut q.handle, &mut callbacks, &mut kind),
            )?;
            if kind == QUORUM_FREE {
                return Err(Error::external(
                    "corosync has no quorum provider (quorum { provider: corosync_votequorum } missing)",
                ));
            }
            let mut quorate: c_int = 0;
            check("quorum_getquorate", getquorate(q.handle, &mut quorate))?;
            EVENTS.lock().unwrap_or_else(|e| e.into_inner()).quorate = Some(quorate != 0);
            check("quorum_fd_get", fd_get(q.handle, &mut q.fd))?;
            check("quorum_trackstart", trackstart(q.handle, CS_TRACK_CHANGES))?;
            Ok(q)
        }
    }

    pub fn fd(&self) -> c_int {
        self.fd
    }

    /// Run pending callbacks; an error means corosync is gone.
    pub fn dispatch(&self) -> Result<()> {
        // SAFETY: valid handle
        check("quorum_dispatch", unsafe {
            (self.dispatch)(self.handle, CS_DISPATCH_ALL)
        })
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // SAFETY: valid handle, finalized once
        unsafe { (self.finalize)(self.handle) };
    }
}

/// Membership of one closed process group.
pub struct Cpg {
    handle: Handle,
    fd: c_int,
    nodeid: u32,
    dispatch: unsafe extern "C" fn(Handle, c_int) -> c_int,
    finalize: unsafe extern "C" fn(Handle) -> c_int,
    _lib: Library,
}

impl Cpg {
    pub fn join(group: &str) -> Result<Self> {
        if group.is_empty() || group.len() >= CPG_MAX_NAME_LENGTH {
            return Err(Error::input(format!("CPG group name {group:?} must be 1..127 bytes")));
        }
        let lib = Library::open(c"libcpg.so.4")?;
        // SAFETY: the signatures follow corosync's cpg.h
        unsafe {
            let initialize: unsafe extern "C" fn(*mut Handle, *mut CpgCallbacks) -> c_int =
                lib.get(c"cpg_initialize")?;
            let fd_get: unsafe extern "C" fn(Handle, *mut c_int) -> c_int = lib.get(c"cpg_fd_get")?;
            let local_get: unsafe extern "C" fn(Handle, *mut c_uint) -> c_int = lib.get(c"cpg_local_get")?;
            let join: unsafe extern "C" fn(Handle, *const CpgName) -> c_int = lib.get(c"cpg_join")?;
            let mut cpg = Cpg {
                handle: 0,
                fd: -1,
                nodeid: 0,
                dispatch: lib.get(c"cpg_dispatch")?,
                finalize: lib.get(c"cpg_finalize")?,
                _lib: lib,
            };
            let mut callbacks = CpgCallbacks {
                deliver: Some(on_deliver),
                confchg: Some(on_confchg),
            };
            check("cpg_initialize", initialize(&mut cpg.handle, &mut callbacks))?;
            check("cpg_fd_get", fd_get(cpg.handle, &mut cpg.fd))?;
            check("cpg_local_get", local_get(cpg.handle, &mut cpg.nodeid))?;
            let mut name = CpgName {
                length: group.len() as u32,
                value: [0; CPG_MAX_NAME_LENGTH],
            };
            for (dst, src) in name.value.iter_mut().zip(group.bytes()) {
                *dst = src as c_char;
            }
            // TRY_AGAIN while corosync is busy forming a membership
            for _ in 0..50 {
                match join(cpg.handle, &name) {
                    CS_ERR_TRY_AGAIN => std::thread::sleep(std::time::Duration::from_millis(20)),
                    rc => return check("cpg_join", rc).map(|_| cpg),
                }
            }
            Err(Error::external("cpg_join: corosync kept answering TRY_AGAIN"))
        }
    }

    pub fn fd(&self) -> c_int {
        self.fd
    }

    /// This node's corosync node id.
    pub fn nodeid(&self) -> u32 {
        self.nodeid
    }

    pub fn dispatch(&self) -> Result<()> {
        // SAFETY: valid handle
        check("cpg_dispatch", unsafe { (self.dispatch)(self.handle, CS_DISPATCH_ALL) })
    }
}

impl Drop for Cpg {
    fn drop(&mut self) {
        // SAFETY: valid handle; finalize also leaves the group
        unsafe { (self.finalize)(self.handle) };
    }
}
