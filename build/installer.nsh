; Windows NSIS additions (electron-builder: nsis.include).
;
; electron-builder's `protocols` reaches macOS (CFBundleURLTypes) and Linux
; (x-scheme-handler MimeType) but not NSIS, so the call-link schemes are written
; here: Software\Classes\<scheme> under SHELL_CONTEXT, which is HKCU for a per-user
; install and HKLM for a per-machine one, so no elevation is needed per user.
; Keep the list equal to PROTOCOL_SCHEMES in main/protocol-links.ts (the packaging
; test checks it). The app also calls app.setAsDefaultProtocolClient at run time.

; $appExe is only set in the install section; the uninstaller needs the path spelled out.
!define PARLEY_EXE "$INSTDIR\${APP_EXECUTABLE_FILENAME}"

!macro parleyRegisterScheme SCHEME DESCRIPTION
  WriteRegStr SHELL_CONTEXT "Software\Classes\${SCHEME}" "" "URL:${DESCRIPTION}"
  WriteRegStr SHELL_CONTEXT "Software\Classes\${SCHEME}" "URL Protocol" ""
  WriteRegStr SHELL_CONTEXT "Software\Classes\${SCHEME}\DefaultIcon" "" "${PARLEY_EXE},0"
  WriteRegStr SHELL_CONTEXT "Software\Classes\${SCHEME}\shell\open\command" "" '"${PARLEY_EXE}" "%1"'
!macroend

; Remove a scheme only while it still opens this copy of Parley: another softphone
; may have taken it over since.
!macro parleyUnregisterScheme SCHEME
  ReadRegStr $R0 SHELL_CONTEXT "Software\Classes\${SCHEME}\shell\open\command" ""
  ${if} $R0 == '"${PARLEY_EXE}" "%1"'
    DeleteRegKey SHELL_CONTEXT "Software\Classes\${SCHEME}"
  ${endif}
!macroend

!macro customInstall
  !insertmacro parleyRegisterScheme "sip" "SIP call link"
  !insertmacro parleyRegisterScheme "sips" "Secure SIP call link"
  !insertmacro parleyRegisterScheme "tel" "Telephone number"
  !insertmacro parleyRegisterScheme "callto" "Callto link"
!macroend

!macro customUnInstall
  ; An update runs the old uninstaller first; the links must survive it.
  ${ifNot} ${isUpdated}
    !insertmacro parleyUnregisterScheme "sip"
    !insertmacro parleyUnregisterScheme "sips"
    !insertmacro parleyUnregisterScheme "tel"
    !insertmacro parleyUnregisterScheme "callto"
  ${endif}
!macroend
