      *****************************************************************
      * MAINFRAME - PLAYS THE CLAIMS MAINFRAME IN THE FULL-NIGHT TEST.*
      * READS A FERRY CLAIMS FILE (RECFM=FB, LRECL=150) WITH THE      *
      * CLAIMREC COPYBOOK AND WRITES THE ACKNOWLEDGEMENT FILE         *
      * (RECFM=FB, LRECL=80) WITH THE CLAIMACK COPYBOOK: ONE DETAIL   *
      * PER CLAIM AND A TRAILER WITH THE COUNTS.                      *
      * A CLAIM IS REJECTED WHEN                                      *
      *   ITS NINO EQUALS ENV REJECTNINO            -> E01 (NINO)     *
      *   ITS AMOUNT IS OVER ENV REJECTOVER (PENCE)  -> E77 + TEXT     *
      * OTHERWISE ACCEPTED WITH A CASE NUMBER FROM ENV CASEBASE.      *
      * USAGE: CLMFILE=IN ACKFILE=OUT REJECTNINO=.. REJECTOVER=..     *
      * RETURN-CODE 0 OK, 12 FILE ERROR, 8 NO TRAILER.                *
      *****************************************************************
       IDENTIFICATION DIVISION.
       PROGRAM-ID. MAINFRAME.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT CLAIM-FILE ASSIGN TO CLMFILE
               ORGANIZATION IS SEQUENTIAL
               FILE STATUS IS WS-STATUS.
           SELECT ACK-FILE ASSIGN TO ACKFILE
               ORGANIZATION IS SEQUENTIAL
               FILE STATUS IS WS-ASTATUS.
       DATA DIVISION.
       FILE SECTION.
       FD  CLAIM-FILE
           RECORD CONTAINS 150 CHARACTERS.
       01  CLAIM-REC                 PIC X(150).
       FD  ACK-FILE
           RECORD CONTAINS 80 CHARACTERS.
       01  ACK-REC                   PIC X(80).
       WORKING-STORAGE SECTION.
       COPY CLAIMREC.
       COPY CLAIMACK.
       01  WS-STATUS                 PIC XX.
       01  WS-ASTATUS                PIC XX.
       01  WS-EOF                    PIC X VALUE 'N'.
       01  WS-COUNT                  PIC 9(07) VALUE 0.
       01  WS-ACCEPTED               PIC 9(07) VALUE 0.
       01  WS-REJECTED               PIC 9(07) VALUE 0.
       01  WS-TRAILERS               PIC 9(03) VALUE 0.
       01  WS-REJECT-NINO            PIC X(09) VALUE SPACES.
       01  WS-OVER-TEXT              PIC X(09) VALUE SPACES.
       01  WS-OVER                   PIC S9(07)V99 VALUE 9999999.99.
       01  WS-BASE-TEXT              PIC X(09) VALUE SPACES.
       01  WS-CASE                   PIC 9(09) VALUE 500000000.
       PROCEDURE DIVISION.
       MAIN.
           ACCEPT WS-REJECT-NINO FROM ENVIRONMENT 'REJECTNINO'
           ACCEPT WS-OVER-TEXT FROM ENVIRONMENT 'REJECTOVER'
           IF WS-OVER-TEXT NOT = SPACES
               COMPUTE WS-OVER = FUNCTION NUMVAL(WS-OVER-TEXT) / 100
           END-IF
           ACCEPT WS-BASE-TEXT FROM ENVIRONMENT 'CASEBASE'
           IF WS-BASE-TEXT NOT = SPACES
               COMPUTE WS-CASE = FUNCTION NUMVAL(WS-BASE-TEXT)
           END-IF
           OPEN INPUT CLAIM-FILE
           IF WS-STATUS NOT = '00'
               DISPLAY 'OPEN CLAIMS FAILED ' WS-STATUS
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           OPEN OUTPUT ACK-FILE
           IF WS-ASTATUS NOT = '00'
               DISPLAY 'OPEN ACKS FAILED ' WS-ASTATUS
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           PERFORM UNTIL WS-EOF = 'Y'
               READ CLAIM-FILE
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM ONE-RECORD
               END-READ
           END-PERFORM
           CLOSE CLAIM-FILE
           MOVE SPACES TO ACK-TRAILER
           MOVE 'T' TO ACKT-REC-TYPE
           MOVE WS-COUNT TO ACKT-RECORD-COUNT
           MOVE WS-ACCEPTED TO ACKT-ACCEPTED-COUNT
           MOVE WS-REJECTED TO ACKT-REJECTED-COUNT
           WRITE ACK-REC FROM ACK-TRAILER
           CLOSE ACK-FILE
           DISPLAY 'CLAIMS ' WS-COUNT ' ACCEPTED ' WS-ACCEPTED
                   ' REJECTED ' WS-REJECTED
           IF WS-TRAILERS NOT = 1
               DISPLAY 'NO TRAILER IN THE CLAIMS FILE'
               MOVE 8 TO RETURN-CODE
           END-IF
           STOP RUN.
       ONE-RECORD.
           EVALUATE CLAIM-REC(1:1)
             WHEN 'D'
               MOVE CLAIM-REC TO CLAIM-DETAIL
               ADD 1 TO WS-COUNT
               MOVE SPACES TO ACK-DETAIL
               MOVE 'D' TO ACK-REC-TYPE
               MOVE CLM-FERRY-REF TO ACK-FERRY-REF
               MOVE ZERO TO ACK-CASE-NO
               EVALUATE TRUE
                 WHEN CLM-NINO = WS-REJECT-NINO
                   MOVE 'R' TO ACK-STATUS
                   MOVE 'E01' TO ACK-REASON-CODE
                   ADD 1 TO WS-REJECTED
                 WHEN CLM-AMOUNT > WS-OVER
                   MOVE 'R' TO ACK-STATUS
                   MOVE 'E77' TO ACK-REASON-CODE
                   MOVE 'AMOUNT OVER THE AUTOMATIC LIMIT'
                     TO ACK-REASON-TEXT
                   ADD 1 TO WS-REJECTED
                 WHEN OTHER
                   MOVE 'A' TO ACK-STATUS
                   ADD 1 TO WS-CASE
                   MOVE WS-CASE TO ACK-CASE-NO
                   ADD 1 TO WS-ACCEPTED
               END-EVALUATE
               WRITE ACK-REC FROM ACK-DETAIL
             WHEN 'T'
               ADD 1 TO WS-TRAILERS
             WHEN OTHER
               CONTINUE
           END-EVALUATE.
