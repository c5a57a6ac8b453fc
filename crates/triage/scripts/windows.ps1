# custody triage collection script for Windows, version 2 (crates/triage/scripts/windows.ps1).
#
# Sent as the `commands` of AWS-RunPowerShellScript, after a prelude custody writes:
#   $CustodyNonce = '<hex>'        every marker line carries it (output cannot fake a section)
#   $CustodyMemory = '<pid|name>'  empty: collect the sections; else minidump that process instead
#   $CustodyMemoryLimit = <bytes>
#
# Read-only, with one exception: a memory minidump (comsvcs.dll MiniDump, shipped with Windows) can
# only be written to a file, so it goes to a fresh file under $env:TEMP, is hashed, streamed as base64
# and deleted. Nothing is installed. Same markers and section names as linux.sh.

$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
if (-not $CustodyNonce) { $CustodyNonce = 'nononce' }
$M = "@@CUSTODY $CustodyNonce"
$script:Status = 'ok'

function Begin-Section($name) { $script:Status = 'ok'; Write-Output "$M SECTION $name BEGIN" }
function End-Section($name) { Write-Output "$M SECTION $name END $script:Status" }
function Note($text) { Write-Output "$M NOTE $text" }
function Partial($text) { Note $text; if ($script:Status -eq 'ok') { $script:Status = 'partial' } }
function Unavailable($text) { Note "unavailable: $text"; $script:Status = 'unavailable' }
function Table($rows) { $rows | Format-Table -AutoSize | Out-String -Width 4096 | Write-Output }
function Show-File($path, $lines = 1000) {
  if (Test-Path -LiteralPath $path -PathType Leaf) {
    Write-Output "--- $path"
    Get-Content -LiteralPath $path -Tail $lines -ErrorAction SilentlyContinue | Write-Output
  }
}

function Collect {
  Write-Output "$M TRIAGE windows 2 BEGIN"

  Begin-Section 'system'
  Write-Output ("date_utc: " + (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'))
  Write-Output ("hostname: " + $env:COMPUTERNAME)
  try { Table (Get-CimInstance Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, LastBootUpTime) }
  catch { Partial "Win32_OperatingSystem: $($_.Exception.Message)" }
  End-Section 'system'

  Begin-Section 'processes'
  try {
    Write-Output "pid`tppid`tuser`texe`tsha256`tcmdline"
    foreach ($p in Get-CimInstance Win32_Process) {
      $sum = '-'
      if ($p.ExecutablePath) {
        $h = Get-FileHash -Algorithm SHA256 -LiteralPath $p.ExecutablePath -ErrorAction SilentlyContinue
        if ($h) { $sum = $h.Hash.ToLower() }
      }
      $cmd = if ($p.CommandLine) { $p.CommandLine -replace "[`t`r`n]", ' ' } else { "[$($p.Name)]" }
      Write-Output ("{0}`t{1}`t{2}`t{3}`t{4}`t{5}" -f $p.ProcessId, $p.ParentProcessId, '-', $(if ($p.ExecutablePath) { $p.ExecutablePath } else { '-' }), $sum, $cmd)
    }
  } catch { Unavailable "Win32_Process: $($_.Exception.Message)" }
  End-Section 'processes'

  Begin-Section 'network'
  if (Get-Command Get-NetTCPConnection -ErrorAction SilentlyContinue) {
    Table (Get-NetTCPConnection | Select-Object LocalAddress, LocalPort, RemoteAddress, RemotePort, State, OwningProcess)
  } else { Partial 'no Get-NetTCPConnection: netstat'; netstat -ano | Write-Output }
  End-Section 'network'

  Begin-Section 'listening'
  if (Get-Command Get-NetTCPConnection -ErrorAction SilentlyContinue) {
    Table (Get-NetTCPConnection -State Listen | Select-Object LocalAddress, LocalPort, OwningProcess)
    Table (Get-NetUDPEndpoint | Select-Object LocalAddress, LocalPort, OwningProcess)
  } else { Partial 'no Get-NetTCPConnection: netstat'; netstat -ano | Select-String 'LISTENING|UDP' | Write-Output }
  End-Section 'listening'

  Begin-Section 'users'
  try { quser 2>&1 | Write-Output } catch { Partial 'quser failed' }
  try { Table (Get-CimInstance Win32_LoggedOnUser | Select-Object Antecedent, Dependent) } catch { Partial 'Win32_LoggedOnUser failed' }
  End-Section 'users'

  Begin-Section 'logins'
  try {
    Table (Get-WinEvent -FilterHashtable @{ LogName = 'Security'; Id = 4624, 4625, 4634, 4648, 4672 } -MaxEvents 200 -ErrorAction Stop |
      Select-Object TimeCreated, Id, @{ n = 'Message'; e = { ($_.Message -split "`n")[0] } })
  } catch { Unavailable "Security log: $($_.Exception.Message)" }
  End-Section 'logins'

  Begin-Section 'histories'
  foreach ($profile in Get-ChildItem 'C:\Users' -Directory -ErrorAction SilentlyContinue) {
    Show-File (Join-Path $profile.FullName 'AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine\ConsoleHost_history.txt') 500
  }
  End-Section 'histories'

  Begin-Section 'scheduled'
  if (Get-Command Get-ScheduledTask -ErrorAction SilentlyContinue) {
    Table (Get-ScheduledTask | Select-Object TaskPath, TaskName, State, @{ n = 'Actions'; e = { ($_.Actions | ForEach-Object { "$($_.Execute) $($_.Arguments)" }) -join '; ' } })
  } else { Partial 'no Get-ScheduledTask: schtasks'; schtasks /query /fo LIST /v | Write-Output }
  End-Section 'scheduled'

  Begin-Section 'services'
  try { Table (Get-CimInstance Win32_Service | Select-Object Name, State, StartMode, StartName, PathName) }
  catch { Unavailable "Win32_Service: $($_.Exception.Message)" }
  End-Section 'services'

  Begin-Section 'modules'
  try { Table (Get-CimInstance Win32_SystemDriver | Select-Object Name, State, StartMode, PathName) }
  catch { Unavailable "Win32_SystemDriver: $($_.Exception.Message)" }
  End-Section 'modules'

  Begin-Section 'logs'
  foreach ($log in 'System', 'Application', 'Microsoft-Windows-PowerShell/Operational') {
    try {
      Write-Output "--- $log"
      Table (Get-WinEvent -LogName $log -MaxEvents 300 -ErrorAction Stop | Select-Object TimeCreated, Id, LevelDisplayName, ProviderName, @{ n = 'Message'; e = { ($_.Message -split "`n")[0] } })
    } catch { Partial "${log}: $($_.Exception.Message)" }
  }
  End-Section 'logs'

  Write-Output "$M TRIAGE END"
}

# A full minidump with comsvcs.dll (what the OS ships), hashed here, streamed as base64, deleted.
function Memory {
  Write-Output "$M TRIAGE windows 2 MEMORY"
  $limit = if ($CustodyMemoryLimit) { [int64]$CustodyMemoryLimit } else { 268435456 }
  if ($CustodyMemory -match '^\d+$') {
    $procs = Get-Process -Id ([int]$CustodyMemory) -ErrorAction SilentlyContinue
  } else {
    $procs = Get-Process -Name ($CustodyMemory -replace '\.exe$', '') -ErrorAction SilentlyContinue
  }
  if (-not $procs) { Note "unavailable: no process named $CustodyMemory" }
  foreach ($p in $procs) {
    Write-Output "$M MEMORY $($p.Id) BEGIN $($p.Name)"
    $file = Join-Path $env:TEMP ("custody-" + $CustodyNonce + "-" + $p.Id + ".dmp")
    & rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump $p.Id $file full | Out-Null
    for ($i = 0; $i -lt 600 -and -not (Test-Path $file); $i++) { Start-Sleep -Milliseconds 500 }
    Start-Sleep -Seconds 2
    if (Test-Path $file) {
      $bytes = [System.IO.File]::ReadAllBytes($file)
      Remove-Item -LiteralPath $file -Force
      if ($bytes.Length -gt $limit) { Write-Output "$M LIMIT"; $bytes = $bytes[0..($limit - 1)] }
      $sha = [System.Security.Cryptography.SHA256]::Create()
      $sum = -join ($sha.ComputeHash($bytes) | ForEach-Object { $_.ToString('x2') })
      Write-Output "$M REGION 0 minidump $($p.Name)"
      $b64 = [Convert]::ToBase64String($bytes)
      for ($o = 0; $o -lt $b64.Length; $o += 76) { Write-Output $b64.Substring($o, [Math]::Min(76, $b64.Length - $o)) }
      Write-Output "$M SHA256 $sum $($bytes.Length)"
    } else { Note "unavailable: MiniDump of $($p.Id) wrote nothing" }
    Write-Output "$M MEMORY $($p.Id) END"
  }
  Write-Output "$M TRIAGE END"
}

if ($CustodyMemory) { Memory } else { Collect }
