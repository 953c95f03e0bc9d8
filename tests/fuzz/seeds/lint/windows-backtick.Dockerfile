# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
ENV APP_HOME=C:\app
RUN New-Item -ItemType Directory -Path $env:APP_HOME; `
    Invoke-WebRequest -Uri https://example.invalid/tool.zip -OutFile C:\tool.zip; `
    Expand-Archive C:\tool.zip -DestinationPath C:\tool
WORKDIR C:\app
COPY app\ .
CMD ["C:\\app\\server.exe"]
