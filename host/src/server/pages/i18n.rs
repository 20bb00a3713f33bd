//! The pages' words in Vietnamese (the default) and English, and money and
//! dates as each language writes them: 1.250.000 ₫ and 05/12/2026 in
//! Vietnamese; VND 1,250,000 and 2026-12-05 in English.
//!
//! One catalogue, [`WORDS`]: a template asks `lang.t("key")`, and a test
//! checks that every key the templates use is here in both languages.

use std::borrow::Borrow;

use crate::format::group;

/// A language of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

/// The cookie that keeps the reader's choice.
pub const COOKIE: &str = "ansinh_lang";

impl Lang {
    /// From the cookie's value; Vietnamese unless English was chosen.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language: what the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// The word for `key`; the key itself if the catalogue lacks it (a test
    /// checks that it never does).
    pub fn t(self, key: &str) -> &'static str {
        match WORDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => "?",
        }
    }

    /// A run's status, in words.
    pub fn status(self, status: &str) -> &'static str {
        self.t(match status {
            "created" => "status_created",
            "evaluated" => "status_evaluated",
            "approved" => "status_approved",
            "issuing" => "status_issuing",
            "issued" => "status_issued",
            "reconciled" => "status_reconciled",
            "cancelled" => "status_cancelled",
            _ => "status",
        })
    }

    /// A release's state, in words.
    pub fn release_state(self, state: &str) -> &'static str {
        self.t(match state {
            "uploaded" => "release_state_uploaded",
            "signed" => "release_state_signed",
            "approved" => "release_state_approved",
            "active" => "release_state_active",
            "retired" => "release_state_retired",
            _ => "state",
        })
    }

    /// A decision's outcome, in words.
    pub fn outcome(self, outcome: &str) -> &'static str {
        self.t(match outcome {
            "payable" => "outcome_payable",
            "held" => "outcome_held",
            "not_eligible" => "outcome_not_eligible",
            "not_verified" => "outcome_not_verified",
            "no_account" => "outcome_no_account",
            "plugin_error" => "outcome_plugin_error",
            _ => "outcome",
        })
    }

    /// A kind of exception, in words.
    pub fn exception(self, kind: &str) -> &'static str {
        self.t(match kind {
            "not_verified" => "exception_not_verified",
            "near_name" => "exception_near_name",
            "account_name" => "exception_account_name",
            "death_reported" => "exception_death_reported",
            "no_account" => "exception_no_account",
            "plugin_error" => "exception_plugin_error",
            "residence" => "exception_residence",
            "duplicate" => "exception_duplicate",
            _ => "exceptions",
        })
    }

    /// Whole đồng: `1.250.000 ₫`, or `VND 1,250,000`.
    pub fn money(self, amount: impl Borrow<i64>) -> String {
        let amount = *amount.borrow();
        match self {
            Lang::Vi => format!("{} ₫", group(amount).replace(',', ".")),
            Lang::En => format!("VND {}", group(amount)),
        }
    }

    /// An amount that may be missing (nothing that month): blank, or [`Lang::money`].
    pub fn money_if(self, amount: &Option<i64>) -> String {
        amount.map(|a| self.money(a)).unwrap_or_default()
    }

    /// A count: `12.345`, or `12,345`.
    pub fn count(self, n: impl Borrow<i64>) -> String {
        let n = *n.borrow();
        match self {
            Lang::Vi => group(n).replace(',', "."),
            Lang::En => group(n),
        }
    }

    /// A month stored as `YYYY-MM`: `09/2024`, or `2024-09`.
    pub fn month(self, month: &str) -> String {
        match (self, month.split_once('-')) {
            (Lang::Vi, Some((year, m))) => format!("{m}/{year}"),
            _ => month.to_owned(),
        }
    }

    /// A moment stored as RFC 3339: `05/12/2026 10:42`, or `2026-12-05 10:42` (UTC).
    pub fn moment(self, at: &str) -> String {
        let (date, time) = at.split_once('T').unwrap_or((at, ""));
        let time: String = time.chars().take(5).collect();
        match (self, date.splitn(3, '-').collect::<Vec<_>>().as_slice()) {
            (Lang::Vi, [y, m, d]) => format!("{d}/{m}/{y} {time}"),
            _ => format!("{date} {time}"),
        }
    }
}

/// Every word of the pages: key, Vietnamese, English.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("app", "An sinh: chi trả trợ giúp xã hội không dùng tiền mặt", "ansinh: social assistance paid without cash"),
    ("skip", "Bỏ qua, tới nội dung", "Skip to the content"),
    ("switch", "English", "Tiếng Việt"),
    ("sign_in", "Đăng nhập", "Sign in"),
    ("sign_out", "Đăng xuất", "Sign out"),
    ("signed_in_as", "Đăng nhập với tên", "Signed in as"),
    (
        "demo_accounts",
        "Tài khoản mẫu (chỉ có ở bản demo, trên máy này)",
        "Demo accounts (the demo only, on this machine)",
    ),
    ("demo_as", "Đăng nhập là", "Sign in as"),
    ("sign_in_at", "Đăng nhập qua", "Sign in at"),
    ("not_signed_in", "Chưa đăng nhập được", "Not signed in"),
    (
        "no_sign_in",
        "Dịch vụ này chưa cấu hình đăng nhập OIDC ([oidc] trong cấu hình).",
        "This service has no OIDC sign-in configured ([oidc] of its configuration).",
    ),
    ("releases", "Bản quy tắc", "Rule releases"),
    ("new_release", "Tải lên bản quy tắc mới", "Upload a new release"),
    ("plugin_file", "Plug-in (.wasm)", "Plug-in (.wasm)"),
    ("cases_file", "Các ca kiểm thử (.yaml)", "Its cases (.yaml)"),
    ("program_if_several", "Chương trình (nếu plug-in phục vụ nhiều)", "Programme (if the plug-in serves several)"),
    (
        "sign_offline",
        "Ký ngoại tuyến, trên máy giữ khóa, rồi tải tệp chữ ký lên:",
        "Sign offline, on the machine that holds the key, then upload the signature file:",
    ),
    ("no_releases", "Chưa có bản quy tắc nào.", "No releases yet."),
    ("authority", "Cơ quan ban hành", "Authority"),
    ("state", "Tình trạng", "State"),
    ("in_force_from", "Hiệu lực từ tháng", "In force from"),
    ("plugin_sha256", "SHA-256 của plug-in", "Plug-in SHA-256"),
    ("cases_sha256", "SHA-256 của các ca", "Cases SHA-256"),
    ("uploaded_by", "Tải lên bởi", "Uploaded by"),
    ("signed_by", "Ký bởi", "Signed by"),
    (
        "approval_checked",
        "Khi phê duyệt: số ca · nhiên liệu · mức tăng tối đa",
        "At approval: cases · fuel · max growth",
    ),
    ("cases", "Các ca kiểm thử, chạy lại bây giờ", "Its cases, run now"),
    ("case", "Ca", "Case"),
    ("fuel", "Nhiên liệu", "Fuel"),
    ("passed", "Đạt", "Passed"),
    ("failed", "Không đạt", "Failed"),
    ("fuel_in_all", "Tổng nhiên liệu", "Fuel in all"),
    ("fuel_of_active", "Bản đang hiệu lực", "The release in force"),
    ("no_active_release", "Chưa có bản đang hiệu lực để so sánh.", "No release in force to compare with."),
    ("what_ifs", "Giả định trên các đợt đã qua (chỉ số tổng)", "What-ifs over past runs (totals only)"),
    ("no_what_ifs", "Chưa có giả định nào được ghi nhận.", "No what-if on record."),
    ("signature_file", "Tệp chữ ký (signature.json)", "Signature file (signature.json)"),
    ("add_signature", "Thêm chữ ký", "Add the signature"),
    ("max_fuel_growth", "Mức tăng nhiên liệu tối đa (lần)", "Max fuel growth (times)"),
    ("approve_release", "Phê duyệt bản quy tắc", "Approve the release"),
    ("activate", "Cho hiệu lực", "Put in force"),
    ("release_uploaded", "Đã tải lên. Bước tiếp: thêm chữ ký.", "Uploaded. Next: its signature."),
    ("release_signed", "Đã ký. Bước tiếp: người thứ hai phê duyệt.", "Signed. Next: a second person approves it."),
    ("release_approved", "Đã phê duyệt. Bước tiếp: cho hiệu lực.", "Approved. Next: put it in force."),
    ("release_activated", "Đã cho hiệu lực.", "In force."),
    ("release_state_uploaded", "Đã tải lên", "Uploaded"),
    ("release_state_signed", "Đã ký", "Signed"),
    ("release_state_approved", "Đã phê duyệt", "Approved"),
    ("release_state_active", "Đang hiệu lực", "In force"),
    ("release_state_retired", "Đã thu hồi", "Retired"),
    ("category", "Nhóm đối tượng", "Category"),
    ("reasons", "Mã lý do", "Reason codes"),
    ("channel", "Kênh chi trả", "Channel"),
    ("payee", "Người nhận", "Payee"),
    ("channel_bank", "Chuyển khoản ngân hàng", "Bank transfer"),
    ("channel_ewallet", "Ví điện tử", "E-wallet"),
    ("channel_cash", "Tiền mặt qua Bưu điện (VNPost)", "Cash through VNPost"),
    ("explanation", "Vì sao: giải thích và căn cứ pháp lý", "Why: the explanation and its legal basis"),
    ("no_explanation", "Plug-in không đưa ra giải thích.", "The plug-in gave no explanation."),
    ("legal_basis", "Căn cứ pháp lý", "Legal basis"),
    ("registry_checks", "Đối chiếu với CSDL quốc gia về dân cư", "Checks against the population registry"),
    ("check", "Nội dung đối chiếu", "Check"),
    ("decided_with", "Quyết định bằng", "Decided with"),
    ("engine", "Bộ máy chạy plug-in", "Engine"),
    ("digest", "Mã băm của quyết định", "Decision digest"),
    ("categories", "Theo nhóm đối tượng (người được chi trả)", "By category (those paid)"),
    ("changes", "Thay đổi so với tháng trước", "Changes since last month"),
    ("compared_with", "So với", "Compared with"),
    ("changes_added", "Mới được chi trả", "Newly paid"),
    ("changes_dropped", "Không còn được chi trả", "No longer paid"),
    ("changes_changed", "Số tiền thay đổi (chênh lệch)", "Amount changed (net)"),
    ("before", "Tháng trước", "Before"),
    ("after", "Tháng này", "After"),
    ("no_previous", "Không có đợt chi trả tháng trước để so sánh.", "No run of the month before to compare with."),
    ("what_ifs_of_release", "Giả định của bản quy tắc này (chỉ số tổng)", "What-ifs of this release (totals)"),
    ("awaiting_approval", "Chờ phê duyệt", "Awaiting approval"),
    ("export", "Xuất gói kiểm toán", "Export an audit bundle"),
    ("download_bundle", "Tải gói kiểm toán (phát lại ngoại tuyến được)", "Download the bundle (it replays offline)"),
    (
        "no_page_role",
        "Tài khoản của bạn không có vai trò nào mà các trang này phục vụ; hãy hỏi quản trị viên.",
        "Your account has no role these pages serve; ask an administrator.",
    ),
    ("runs", "Đợt chi trả", "Payment runs"),
    ("run", "Đợt chi trả", "Payment run"),
    ("program", "Chương trình", "Programme"),
    ("province", "Tỉnh", "Province"),
    ("period", "Tháng", "Month"),
    ("status", "Trạng thái", "Status"),
    ("any", "Tất cả", "Any"),
    ("filter", "Lọc", "Filter"),
    ("next_page", "Trang sau", "Next page"),
    ("no_runs", "Không có đợt chi trả nào trong phạm vi của bạn.", "No payment run in your scope."),
    ("outcomes", "Kết quả", "Outcomes"),
    ("outcome", "Kết quả", "Outcome"),
    ("people", "Số người", "People"),
    ("monthly_amount", "Số tiền mỗi tháng", "Monthly amount"),
    ("who_acted", "Người thực hiện", "Who acted"),
    ("created_by", "Tạo bởi", "Created by"),
    ("evaluated_by", "Xét duyệt bởi", "Evaluated by"),
    ("approved_by", "Phê duyệt bởi", "Approved by"),
    ("issued_by", "Lập lệnh chi bởi", "Issued by"),
    ("granted", "được cấp quyền ở mục nhật ký", "granted by audit log entry"),
    ("to_approve", "Chờ phê duyệt", "Awaiting approval"),
    ("transfers", "Chuyển khoản", "Transfers"),
    ("cash", "Tiền mặt qua Bưu điện", "Cash through VNPost"),
    ("held", "Tạm giữ", "Held"),
    ("checksum", "Mã kiểm tra", "Checksum"),
    ("progress", "Tiến độ", "Progress"),
    ("per_second", "người/giây", "people a second"),
    ("seconds_left", "giây còn lại", "seconds left"),
    ("plugin", "Quy tắc (plug-in)", "Rules (plug-in)"),
    ("release", "Bản phát hành", "Release"),
    ("status_created", "Đã tạo", "Created"),
    ("status_evaluated", "Đã xét duyệt", "Evaluated"),
    ("status_approved", "Đã phê duyệt", "Approved"),
    ("status_issuing", "Đang lập lệnh chi", "Being issued"),
    ("status_issued", "Đã lập lệnh chi", "Issued"),
    ("status_reconciled", "Đã đối soát", "Reconciled"),
    ("status_cancelled", "Đã hủy", "Cancelled"),
    ("outcome_payable", "Được chi trả", "Payable"),
    ("outcome_held", "Tạm giữ", "Held"),
    ("outcome_not_eligible", "Không đủ điều kiện", "Not eligible"),
    ("outcome_not_verified", "Chưa xác minh", "Not verified"),
    ("outcome_no_account", "Không có tài khoản", "No account"),
    ("outcome_plugin_error", "Lỗi quy tắc", "Rule error"),
    ("not_found", "Không tìm thấy", "Not found"),
    ("forbidden", "Không được phép", "Not allowed"),
    (
        "expired_form",
        "Biểu mẫu đã hết hạn hoặc không hợp lệ: hãy tải lại trang và thử lại.",
        "The form has expired or is not valid: reload the page and try again.",
    ),
    ("back_to_start", "Về trang đầu", "Back to the start"),
    ("not_done", "Chưa thực hiện được", "Not done"),
    ("back", "Quay lại", "Back"),
    ("actions", "Thao tác", "Actions"),
    ("evaluate", "Xét duyệt đợt chi trả", "Evaluate the run"),
    ("approve", "Phê duyệt chi trả", "Approve the payment"),
    ("refuse", "Từ chối", "Refuse"),
    ("reason", "Lý do", "Reason"),
    ("issue", "Lập lệnh chi", "Issue the payment files"),
    (
        "own_run",
        "Bạn đã tạo hoặc xét duyệt đợt này nên không thể phê duyệt nó (nguyên tắc bốn mắt).",
        "You created or evaluated this run, so you cannot approve it (four eyes).",
    ),
    ("new_run", "Tạo đợt chi trả", "New payment run"),
    ("create", "Tạo", "Create"),
    ("back_pay_from", "Truy lĩnh từ tháng (nếu có)", "Back pay from (if any)"),
    ("done_created", "Đã tạo đợt chi trả.", "The run was created."),
    ("done_evaluating", "Đang xét duyệt: tiến độ hiện bên dưới.", "Being evaluated: the progress is below."),
    ("done_approved", "Đã phê duyệt.", "Approved."),
    (
        "done_refused",
        "Đã từ chối; đợt chi trả trở lại trạng thái đã xét duyệt.",
        "Refused; the run is back to evaluated.",
    ),
    ("done_issuing", "Đang lập lệnh chi.", "The payment files are being issued."),
    ("exceptions", "Hồ sơ cần xem lại", "Exceptions to review"),
    ("beneficiary", "Người hưởng", "Beneficiary"),
    ("full_name", "Họ và tên", "Full name"),
    ("why", "Lý do", "Why"),
    ("no_exceptions", "Không có hồ sơ nào cần xem lại.", "No exception to review."),
    ("exception_not_verified", "Chưa được CSDL dân cư xác minh", "Not verified by the registry"),
    ("exception_near_name", "Tên lệch một ký tự so với CSDL dân cư", "Name one letter off the registry's"),
    (
        "exception_account_name",
        "Chủ tài khoản không phải người hưởng (tạm giữ)",
        "Account holder not the person (held)",
    ),
    ("exception_death_reported", "Ngân hàng báo đã mất, MD07 (tạm giữ)", "Reported deceased by a bank, MD07 (held)"),
    ("exception_no_account", "Không có tài khoản: nhận tiền mặt qua Bưu điện", "No account: cash through VNPost"),
    ("exception_plugin_error", "Lỗi quy tắc", "Rule errors"),
    ("exception_residence", "Cư trú ở tỉnh khác theo CSDL dân cư", "Registry residence in another province"),
    ("exception_duplicate", "Cũng được đăng ký ở tỉnh khác", "Enrolled in another province too"),
    ("files", "Tệp lệnh chi", "Payment files"),
    ("file", "Tệp", "File"),
    ("kind", "Loại", "Kind"),
    ("lines", "Số dòng", "Lines"),
    ("total", "Tổng tiền", "Total"),
    ("download", "Tải về", "Download"),
    ("reconcile", "Nạp phản hồi của ngân hàng (pain.002)", "Upload the bank's answer (pain.002)"),
    ("report_file", "Tệp pain.002 (XML)", "The pain.002 file (XML)"),
    ("upload", "Tải lên", "Upload"),
    ("reconciled", "Kết quả đối soát", "What the bank's answer did"),
    ("audit", "Kiểm toán", "Audit"),
    ("audit_log", "Nhật ký kiểm toán", "Audit log"),
    ("entry", "Mục", "Entry"),
    ("at", "Thời điểm", "At"),
    ("actor", "Người thực hiện", "Who"),
    ("action", "Hành động", "Action"),
    ("subject", "Đối tượng", "Subject"),
    ("run_filter", "Đợt chi trả số", "Run number"),
    (
        "pick_run",
        "Chọn một đợt chi trả trong phạm vi của bạn để xem nhật ký của nó.",
        "Pick a run in your scope to read its log.",
    ),
    ("person", "Tra cứu một người", "Look a person up"),
    ("id_number", "Số định danh cá nhân (12 chữ số)", "Personal ID number (12 digits)"),
    ("look_up", "Tra cứu", "Look up"),
    ("person_hash", "Người này trong nhật ký và gói kiểm toán", "This person in the log and bundles"),
    ("paid_by", "Chi trả bởi đợt", "Paid by run"),
    ("replay", "Phát lại các quyết định", "Replay the decisions"),
    ("verify", "Kiểm tra toàn bộ nhật ký", "Verify the whole log"),
    ("job", "Tác vụ", "Job"),
    ("result", "Kết quả", "Result"),
    ("try_again", "Không thực hiện được lúc này: hãy thử lại.", "It could not be done now: try again."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_as_each_language_writes_them() {
        assert_eq!(Lang::Vi.money(1_250_000), "1.250.000 ₫");
        assert_eq!(Lang::En.money(1_250_000), "VND 1,250,000");
        assert_eq!(Lang::Vi.month("2024-09"), "09/2024");
        assert_eq!(Lang::Vi.moment("2026-12-05T10:42:07Z"), "05/12/2026 10:42");
        assert_eq!(Lang::En.moment("2026-12-05T10:42:07Z"), "2026-12-05 10:42");
    }

    #[test]
    fn every_word_the_templates_use_is_in_both_languages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut used = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("lang.t(\"") {
                rest = &rest[at + 8..];
                let end = rest.find('"').unwrap();
                used.push(rest[..end].to_owned());
            }
        }
        assert!(used.len() > 10, "{used:?}");
        let missing: Vec<&String> = used.iter().filter(|k| !WORDS.iter().any(|(w, _, _)| w == k)).collect();
        assert!(missing.is_empty(), "words used by the templates but not in WORDS: {missing:?}");
        for (key, vi, en) in WORDS {
            assert!(!vi.is_empty() && !en.is_empty(), "{key}");
        }
    }
}
