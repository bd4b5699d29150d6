; Inno Setup 6 script for Twoway: a per-user install that needs no administrator rights.
;
;   iscc /DAppVersion=0.1.0 /DAppDir=packaging\out\dist\twoway /DOutputDir=packaging\out ^
;        packaging\windows\twoway.iss
;
; (python packaging\build.py runs exactly that after PyInstaller.)  Installs into
; %LOCALAPPDATA%\Programs\Twoway, adds a Start menu entry, optionally a desktop shortcut and
; starting in the tray at sign-in.  Uninstalling keeps the user's messages and settings
; (%APPDATA%\Twoway) unless the user says otherwise.  An administrator can install for all
; users with /ALLUSERS on the command line.

#ifndef AppVersion
  #error Pass /DAppVersion=<version>, e.g. through python packaging\build.py
#endif
#ifndef AppDir
  #define AppDir "..\out\dist\twoway"
#endif
#ifndef OutputDir
  #define OutputDir "..\out"
#endif
#define AppName "Twoway"
#define AppExe "twoway.exe"
; Also set on the Start menu shortcut, so notifications and the taskbar group as Twoway.
#define AppUserModelID "Twoway.Twoway"

[Setup]
; The AppId identifies the installation for upgrades: never change it.
AppId={{5B0C8E7A-3D41-4F6B-9A2E-7C1D2B8F4E60}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\twoway.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running Twoway (Restart Manager) before replacing its files.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start {#AppName} in the tray when I sign in"; GroupDescription: "When Windows starts:"; Flags: unchecked

[InstallDelete]
; An upgrade must not keep libraries and plugins the new version no longer ships.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#AppDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; AppUserModelID: "{#AppUserModelID}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"" --minimized"; Flags: uninsdeletevalue; Tasks: autostart

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
{ Messages, pictures, settings and logs live in %APPDATA%\Twoway (platformdirs' roaming
  data folder).  They stay unless the user asks, so reinstalling finds everything again;
  a silent uninstall (IT tools) always keeps them. }
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DataDir := ExpandConstant('{userappdata}\{#AppName}');
  if UninstallSilent or not DirExists(DataDir) then
    Exit;
  if MsgBox('Also delete your Twoway messages, pictures and settings?' + #13#10 + #13#10 +
            'They are in ' + DataDir + '. Choose No to keep them, for example to ' +
            'reinstall Twoway later.', mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
    DelTree(DataDir, True, True, True);
end;
