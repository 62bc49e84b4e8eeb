//! Who is asking, and what that caller may see and do: the one statement of the station
//! boundary. Every use case takes a [`Caller`]; front-ends only say who it is (a local operator
//! with the database and the master secret, or an API key's role and station) and never filter
//! results or refuse actions themselves.

/// What an API key may do, as `otpd keys create --role` made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Acts as its station: sends and checks, its own station's verifications only.
    Station,
    /// Reads the audit log, nothing else.
    Auditor,
    /// Everything, including manual approval and the operator's controls.
    Admin,
    /// The kiosk page's station (issue 22): exactly what the terminal kiosk does (send, resend,
    /// check its own station's verifications), only through a browser it enrolled; its secret
    /// is never shown, so it authenticates no API request.
    Kiosk,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Station, Role::Auditor, Role::Admin, Role::Kiosk];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Station => "station",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// A terminal on the machine that holds the database and the master secret: it could do
    /// anything with them anyway, so it keeps every operator control.
    Local,
    /// An API key of `otpd serve` (its SID, for the audit log, and its role).
    Key { sid: String, role: Role },
}

/// The caller of a use case: the station it acts as and its authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub station: String,
    pub authority: Authority,
}

/// Something only some callers may do; a refusal names it (the wording is in `render`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Send, resend, check, cancel and list this station's verifications.
    RunVerifications,
    /// Lift the conversion guard's pause (`limits resume`).
    ResumeSending,
    /// Lift a number's lock-out (`unlock`).
    Unlock,
    /// Read a number's counters, the locked numbers, or another station's (`limits PHONE`).
    ReadLimits,
    /// Read or verify the audit log.
    ReadAudit,
    /// Approve a verification without its code, or act on another station's by its SID.
    ActOnAnyStation,
    /// Change the service's settings and its programmable rate limits (issue 26).
    ManageService,
}

impl Privilege {
    /// Every privilege, for tables that must cover them all.
    pub const ALL: [Privilege; 7] = [
        Privilege::RunVerifications,
        Privilege::ResumeSending,
        Privilege::Unlock,
        Privilege::ReadLimits,
        Privilege::ReadAudit,
        Privilege::ActOnAnyStation,
        Privilege::ManageService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::RunVerifications => "run_verifications",
            Privilege::ResumeSending => "resume_sending",
            Privilege::Unlock => "unlock",
            Privilege::ReadLimits => "read_limits",
            Privilege::ReadAudit => "read_audit",
            Privilege::ActOnAnyStation => "act_on_any_station",
            Privilege::ManageService => "manage_service",
        }
    }
}

impl Caller {
    /// A terminal on the machine that holds the database, acting as `station`.
    pub fn local(station: impl Into<String>) -> Caller {
        Caller {
            station: station.into(),
            authority: Authority::Local,
        }
    }

    /// An API key's caller.
    pub fn key(station: impl Into<String>, sid: impl Into<String>, role: Role) -> Caller {
        Caller {
            station: station.into(),
            authority: Authority::Key {
                sid: sid.into(),
                role,
            },
        }
    }

    /// The key's role; `None` for a local operator.
    pub fn role(&self) -> Option<Role> {
        match &self.authority {
            Authority::Local => None,
            Authority::Key { role, .. } => Some(*role),
        }
    }

    /// The key's SID; `None` for a local operator.
    pub fn key_sid(&self) -> Option<&str> {
        match &self.authority {
            Authority::Local => None,
            Authority::Key { sid, .. } => Some(sid),
        }
    }

    /// The whole table: who may do what.
    pub fn may(&self, p: Privilege) -> bool {
        use Privilege::*;
        match (&self.authority, p) {
            // Manual approval and reaching into another station are for admin keys only: a
            // local terminal is a station like any other.
            (Authority::Local, ActOnAnyStation) => false,
            (Authority::Local, _) => true,
            (Authority::Key { role, .. }, p) => match role {
                Role::Admin => true,
                Role::Station | Role::Kiosk => p == RunVerifications,
                Role::Auditor => p == ReadAudit,
            },
        }
    }

    /// `Ok` if this caller may do `p`, else the refusal to answer with.
    pub fn require(&self, p: Privilege) -> Result<(), Privilege> {
        if self.may(p) { Ok(()) } else { Err(p) }
    }

    /// Whether this caller may act on a verification started by `station`: its own station's
    /// always, another's only as an admin (and only where a use case names it by its SID).
    pub fn reaches(&self, station: &str) -> bool {
        self.station == station || self.may(Privilege::ActOnAnyStation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rights_table() {
        use Privilege::*;
        let local = Caller::local("desk-1");
        let station = Caller::key("desk-1", "SK1", Role::Station);
        let auditor = Caller::key("audit", "SK2", Role::Auditor);
        let admin = Caller::key("hq", "SK3", Role::Admin);
        let kiosk = Caller::key("lobby", "SK4", Role::Kiosk);
        let rows = [
            (RunVerifications, [true, true, false, true, true]),
            (ResumeSending, [true, false, false, true, false]),
            (Unlock, [true, false, false, true, false]),
            (ReadLimits, [true, false, false, true, false]),
            (ReadAudit, [true, false, true, true, false]),
            (ActOnAnyStation, [false, false, false, true, false]),
            (ManageService, [true, false, false, true, false]),
        ];
        assert_eq!(rows.len(), Privilege::ALL.len());
        let callers = [&local, &station, &auditor, &admin, &kiosk];
        for (p, expected) in rows {
            let got = callers.map(|c| c.may(p));
            assert_eq!(got, expected, "{p:?}");
            for (c, may) in callers.iter().zip(expected) {
                assert_eq!(c.require(p).is_ok(), may);
            }
        }
        assert!(station.reaches("desk-1") && !station.reaches("desk-2"));
        assert!(!local.reaches("desk-2") && admin.reaches("desk-2"));
        assert!(kiosk.reaches("lobby") && !kiosk.reaches("desk-1"));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
