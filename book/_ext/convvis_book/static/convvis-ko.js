/* convvis-ko: Korean labels for sphinx-copybutton, which ships no Korean messages. Runs after
   copybutton.js (same global scope) and before its DOMContentLoaded handler adds the buttons. */
if (typeof messages !== "undefined" && document.documentElement.lang === "ko") {
  messages.ko = {
    copy: "복사",
    copy_to_clipboard: "클립보드에 복사",
    copy_success: "복사했습니다",
    copy_failure: "복사하지 못했습니다",
  };
  locale = "ko";
}
